// The front end of examples/compression.py: lists the items the API serves, and revalidates
// them with the ETag the API sent, so an unchanged list costs a 304 and no body.

const list = document.querySelector("#items");
let etag = null;
let items = [];

function render() {
  list.replaceChildren(
    ...items.map((item) => {
      const row = document.createElement("li");
      row.textContent = `${item.id}: ${item.name} (${item.tags.join(", ")})`;
      return row;
    }),
  );
}

async function refresh() {
  const headers = etag ? { "If-None-Match": etag } : {};
  const response = await fetch("/api/items", { headers });
  if (response.status === 304) {
    return; // unchanged: keep what is on the page
  }
  if (!response.ok) {
    throw new Error(`GET /api/items answered ${response.status}`);
  }
  etag = response.headers.get("ETag");
  items = (await response.json()).items;
  render();
}

async function follow() {
  const response = await fetch("/ticks?count=5&every=1");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    document.querySelector("#ticks").textContent += value; // each tick as it is written
  }
}

refresh();
setInterval(refresh, 10000);
follow();
