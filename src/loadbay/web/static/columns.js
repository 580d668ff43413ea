// Step 2: flag the required columns that no file column (and no constant) maps, as the
// choices change.
const box = document.getElementById("required");
const required = box.dataset.required ? box.dataset.required.split(",") : [];

function update() {
  const mapped = new Set([...document.querySelectorAll("select.target")].map((s) => s.value));
  for (const input of document.querySelectorAll('input[name^="const-"]')) {
    if (input.value.trim()) mapped.add(input.name.slice("const-".length));
  }
  const missing = required.filter((c) => !mapped.has(c));
  box.textContent = "";
  if (missing.length) {
    const p = document.createElement("p");
    p.innerHTML = '<strong><span aria-hidden="true">⚠ </span>Required columns nothing maps:</strong> ';
    p.append(`${missing.join(", ")} — map a file column or give a constant (needed to create rows).`);
    box.append(p);
  }
}

document.getElementById("columns-form").addEventListener("change", update);
document.getElementById("columns-form").addEventListener("input", update);
