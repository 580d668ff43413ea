// Step 1: upload the chosen (or dropped) files one by one with a progress bar each, then
// go on to the columns with their upload ids.
const form = document.getElementById("upload-form");
const input = document.getElementById("files");
const drop = document.getElementById("drop");
const list = document.getElementById("upload-list");
const failure = document.getElementById("upload-error");
const nexts = form.querySelectorAll("button.after-upload");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let pending = 0;

function showError(message) {
  failure.hidden = false;
  const p = document.createElement("p");
  p.innerHTML = "<strong>✖ Not uploaded:</strong> ";
  p.append(message);
  failure.append(p);
}

function item(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const status = document.createElement("span");
  status.textContent = "0%";
  li.append(name, bar, status);
  list.append(li);
  return { bar, status };
}

function upload(file) {
  const maxBytes = Number(form.dataset.maxBytes);
  if (file.size > maxBytes) {
    showError(`${file.name} is ${file.size.toLocaleString()} bytes: the limit is ${maxBytes.toLocaleString()} bytes.`);
    return;
  }
  const { bar, status } = item(file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/upload?filename=${encodeURIComponent(file.name)}`);
  xhr.setRequestHeader("X-CSRF-Token", csrf);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = `${bar.value}%`;
    }
  };
  pending += 1;
  for (const b of nexts) b.disabled = true;
  xhr.onloadend = () => {
    pending -= 1;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { body = {}; }
    if (xhr.status === 201) {
      bar.value = 100;
      status.textContent = "✔ uploaded";
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "upload";
      hidden.value = body.id;
      form.append(hidden);
    } else {
      status.textContent = "✖ failed";
      showError(`${file.name}: ${body.detail || xhr.statusText || "the server did not answer"}`);
    }
    const none = pending > 0 || !form.querySelector('input[name="upload"]');
    for (const b of nexts) b.disabled = none;
  };
  xhr.send(file);
}

function take(files) {
  failure.hidden = true;
  failure.textContent = "";
  for (const file of files) upload(file);
}

input.addEventListener("change", () => {
  take(input.files);
  input.value = ""; // the same file may be chosen again
});
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  take(e.dataTransfer.files);
});
