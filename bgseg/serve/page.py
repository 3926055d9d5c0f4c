"""The small HTML page at `/`: drop a photo, see the cut-out."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bgseg</title>
<style>body{font-family:sans-serif;max-width:52em;margin:2em auto}
#drop{border:2px dashed #888;padding:3em;text-align:center}
img{max-width:48%;background:repeating-conic-gradient(#ccc 0 25%,#fff 0 50%) 0/20px 20px}</style>
</head><body><h1>bgseg</h1>
<div id="drop">Drop a photo here or <input type="file" id="file" accept="image/*"></div>
<p><label>effect <select id="effect"><option value="">cut-out</option><option>blur</option>
<option value="background">white background</option><option value="mask">mask</option></select>
</label> <a href="docs">API</a></p>
<p id="status"></p><img id="before" alt=""> <img id="after" alt="">
<script>
const q = id => document.getElementById(id);
async function send(file) {
  q("before").src = URL.createObjectURL(file);
  const effect = q("effect").value;
  const query = effect === "blur" ? "?blur=15" : effect === "background" ? "?background=white"
    : effect === "mask" ? "?mask_only=true" : "";
  q("status").textContent = "working...";
  const response = await fetch("v1/remove" + query, {method: "POST", body: file,
    headers: {"Content-Type": file.type || "application/octet-stream"}});
  if (!response.ok) { q("status").textContent = (await response.json()).error; return; }
  q("after").src = URL.createObjectURL(await response.blob());
  q("status").textContent = "";
}
q("file").onchange = e => send(e.target.files[0]);
q("drop").ondragover = e => e.preventDefault();
q("drop").ondrop = e => { e.preventDefault(); send(e.dataTransfer.files[0]); };
</script></body></html>
"""
