// The ganedge browser sampler: the model runs on onnxruntime-web (WebGPU when the browser offers
// an adapter, else WebAssembly on the CPU), latents come from latents.mjs (numpy's generator,
// bit for bit) and pixels are rounded as ganedge.imaging.to_uint8_nhwc rounds them.
// Test hook: window.ganedge = {ready, sample(seeds, {truncation, label}), generate(latents,
// batch, {labels})}, both returning {width, height, channels, data: Uint8Array (N, H, W, C)},
// and framesShown, the walk frames drawn so far.
import * as ort from './ort/ort.webgpu.min.mjs';
import { latentsForSeeds, parseSeeds, truncate } from './latents.mjs';

const PADDING = 2; // black pixels between and around grid cells, as `ganedge sample`
const WALK_FRAMES = 24; // frames per transition
const WALK_KEYS = 4;

const $ = (id) => document.getElementById(id);
const state = { session: null, contract: null, backend: null, grid: null, walking: false };

window.ganedge = { ready: start(), framesShown: 0 };
window.ganedge.sample = sample;
window.ganedge.generate = generate;

async function start() {
  try {
    const site = await (await fetch('contract.json')).json();
    state.contract = JSON.parse(site.metadata['ganedge.contract']);
    await openSession(site.model);
    setUp();
    await render();
    return { backend: state.backend, contract: state.contract };
  } catch (err) {
    showError(err);
    throw err;
  }
}

// WebGPU only when an adapter really exists (headless and GPU-less browsers have none);
// ?backend=wasm forces the CPU.
async function chooseBackend() {
  const asked = new URLSearchParams(location.search).get('backend');
  if (asked === 'wasm' || !navigator.gpu) return 'wasm';
  try {
    return (await navigator.gpu.requestAdapter()) ? 'webgpu' : 'wasm';
  } catch {
    return 'wasm';
  }
}

async function openSession(modelUrl) {
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  // threads need cross-origin isolation, which a plain static server does not give
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
  const model = await (await fetch(modelUrl)).arrayBuffer();
  state.backend = await chooseBackend();
  try {
    state.session = await ort.InferenceSession.create(model, { executionProviders: [state.backend] });
  } catch (err) {
    if (state.backend === 'wasm') throw err;
    state.backend = 'wasm'; // the adapter exists but this model cannot run on it
    state.session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  }
}

/** Images of these seeds: their latents, the class seed % N unless a label is given. */
async function sample(seeds, { truncation = 1, label = null } = {}) {
  const c = state.contract;
  const labels = c.num_classes > 0
    ? seeds.map((s) => (label === null || label === undefined ? Number(BigInt(s) % BigInt(c.num_classes)) : label))
    : null;
  return generate(latentsForSeeds(seeds, c.latent_dim), seeds.length, { labels, truncation });
}

/** Run the model on (batch, latent_dim) latents; uint8 (batch, H, W, C) pixels. Truncation ψ
 * pulls z toward zero, or, for a StyleGAN model, w toward the model's w_avg (in W). */
async function generate(latents, batch, { labels = null, truncation = 1 } = {}) {
  const c = state.contract;
  const z = Float32Array.from(latents);
  if (z.length !== batch * c.latent_dim) {
    throw new RangeError(`latents: expected ${batch} x ${c.latent_dim} values (got ${z.length})`);
  }
  const started = performance.now();
  const output = c.num_ws > 0
    ? await synthesis(truncateWs(await mapping(z, batch, labels), truncation), batch)
    : await run({ ...zFeeds(truncate(z, truncation), batch, labels) }, c.output_name);
  const data = c.output_dtype === 'uint8' ? Uint8Array.from(output.data) : toUint8(output.data, batch);
  state.msPerImage = (performance.now() - started) / batch;
  return { width: c.width, height: c.height, channels: c.channels, data };
}

async function run(feeds, name) {
  return (await state.session.run(feeds, [name]))[name];
}

function zFeeds(z, batch, labels) {
  const c = state.contract;
  const feeds = { [c.input_name]: new ort.Tensor('float32', z, [batch, c.latent_dim]) };
  if (c.num_classes > 0) {
    if (!labels) throw new RangeError(`labels: this model is conditional (${c.num_classes} classes)`);
    feeds[c.label_input_name] = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [batch]);
  }
  return feeds;
}

// A StyleGAN file holds the mapping (z → ws) and the synthesis (ws → images) side by side; every
// input must be fed, so the half not run gets an empty (0, …) batch, as the Python runtime does.
async function mapping(z, batch, labels) {
  const c = state.contract;
  const idle = new ort.Tensor('float32', new Float32Array(0), [0, c.num_ws, c.w_dim]);
  return (await run({ ...zFeeds(z, batch, labels), [c.ws_input_name]: idle }, c.ws_output_name)).data;
}

async function synthesis(ws, batch) {
  const c = state.contract;
  const feeds = {
    [c.ws_input_name]: new ort.Tensor('float32', ws, [batch, c.num_ws, c.w_dim]),
    [c.input_name]: new ort.Tensor('float32', new Float32Array(0), [0, c.latent_dim]),
  };
  if (c.num_classes > 0) feeds[c.label_input_name] = new ort.Tensor('int64', new BigInt64Array(0), [0]);
  return run(feeds, c.output_name);
}

// w' = w_avg + ψ (w − w_avg) on every w, each step rounded to float32 as numpy computes it
function truncateWs(ws, psi) {
  if (!(psi >= 0 && psi <= 1)) throw new RangeError(`truncation: must be in [0, 1] (got ${psi})`);
  if (psi === 1) return ws;
  const avg = Float32Array.from(state.contract.w_avg);
  const p = Math.fround(psi);
  return ws.map((w, i) => {
    const a = avg[i % avg.length];
    return Math.fround(a + Math.fround(p * Math.fround(w - a)));
  });
}

// float32 (B, C, H, W) in [-1, 1] → uint8 (B, H, W, C): (x + 1) * 127.5 in float32, rounded half
// to even (numpy's rint), clipped to [0, 255]
function toUint8(values, batch) {
  const { channels: c, height: h, width: w } = state.contract;
  const out = new Uint8Array(batch * h * w * c);
  for (let n = 0; n < batch; n++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const v = Math.fround(Math.fround(values[(n * c + ch) * h * w + p] + 1) * 127.5);
        out[(n * h * w + p) * c + ch] = Math.min(255, Math.max(0, roundHalfEven(v)));
      }
    }
  }
  return out;
}

function roundHalfEven(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function setUp() {
  const c = state.contract;
  $('model').textContent = `z ${c.latent_dim} → ` + (c.num_ws > 0 ? `StyleGAN (${c.num_ws} × w ${c.w_dim}) → ` : '') +
    `${c.channels}×${c.height}×${c.width}` + (c.num_classes > 0 ? `, ${c.num_classes} classes` : '');
  if (c.num_ws > 0) $('psi').title = 'StyleGAN: truncation in W, toward the model\'s w_avg';
  if (c.num_classes > 0) {
    $('label-box').hidden = false;
    $('label').add(new Option('seed % ' + c.num_classes, ''));
    for (let i = 0; i < c.num_classes; i++) $('label').add(new Option(String(i), String(i)));
  }
  $('psi').addEventListener('input', () => { $('psi-value').textContent = Number($('psi').value).toFixed(2); });
  for (const id of ['psi', 'label']) $(id).addEventListener('change', () => render());
  $('seeds').addEventListener('keydown', (e) => { if (e.key === 'Enter') render(); });
  $('render').addEventListener('click', () => render());
  $('download').addEventListener('click', download);
  $('play').addEventListener('click', toggleWalk);
  for (const id of ['render', 'download', 'play']) $(id).disabled = false;
}

function options() {
  const label = $('label').value;
  return { truncation: Number($('psi').value), label: label === '' ? null : Number(label) };
}

async function render() {
  try {
    $('error').hidden = true;
    const seeds = parseSeeds($('seeds').value, 1024); // a bigger grid is too large to look at
    const images = await sample(seeds, options());
    state.grid = { seeds, images };
    drawGrid($('grid'), images, seeds.length);
    if (!state.walking) drawGrid($('walk'), firstImage(images), 1, 256);
    const threads = state.backend === 'wasm' ? `, ${ort.env.wasm.numThreads} thread(s)` : '';
    $('status').textContent = `backend: ${state.backend}${threads} · ${state.msPerImage.toFixed(1)} ms per image ` +
      `(${seeds.length} images in one batch)`;
  } catch (err) {
    showError(err);
  }
}

// Tile like ganedge.imaging.make_grid: ceil(sqrt(n)) columns, PADDING black pixels around cells.
function drawGrid(canvas, images, n, size = 512) {
  const { width: w, height: h, channels: c } = images;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  canvas.width = cols * (w + PADDING) + PADDING;
  canvas.height = rows * (h + PADDING) + PADDING;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < n; i++) {
    const [r, col] = [Math.floor(i / cols), i % cols];
    ctx.putImageData(toImageData(images.data, i, w, h, c), PADDING + col * (w + PADDING), PADDING + r * (h + PADDING));
  }
  const scale = Math.max(1, Math.floor(size / Math.max(canvas.width, canvas.height)));
  canvas.style.width = `${canvas.width * scale}px`;
}

function firstImage(images) {
  return { ...images, data: images.data.subarray(0, images.width * images.height * images.channels) };
}

function toImageData(data, index, w, h, c) {
  const image = new ImageData(w, h);
  const base = index * w * h * c;
  for (let p = 0; p < w * h; p++) {
    for (let k = 0; k < 3; k++) image.data[4 * p + k] = data[base + p * c + (c === 1 ? 0 : k)];
    image.data[4 * p + 3] = 255;
  }
  return image;
}

function download() {
  $('grid').toBlob((blob) => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `seeds-${$('seeds').value.replace(/[^0-9,-]/g, '')}.png`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }, 'image/png');
}

// The walk: slerp between consecutive keyframe latents (direction on the great circle, norm
// linear), cosine easing so the loop closes without a jolt, as ganedge.walks does.
function slerp(a, b, t) {
  const norm = (v) => Math.hypot(...v);
  const [na, nb] = [norm(a), norm(b)];
  const ua = Array.from(a, (v) => v / na);
  const ub = Array.from(b, (v) => v / nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, ua.reduce((s, v, i) => s + v * ub[i], 0))));
  const radius = (1 - t) * na + t * nb;
  if (omega < 1e-6) return Float32Array.from(ua, (v, i) => ((1 - t) * v + t * ub[i]) * radius);
  const [wa, wb] = [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
  return Float32Array.from(ua, (v, i) => (wa * v + wb * ub[i]) * radius);
}

async function toggleWalk() {
  state.walking = !state.walking;
  $('play').textContent = state.walking ? 'Stop walk' : 'Play walk';
  const c = state.contract;
  const keys = state.grid.seeds.slice(0, WALK_KEYS);
  const { truncation, label } = options();
  const labels = c.num_classes > 0 ? [label ?? keys[0] % c.num_classes] : null;
  // StyleGAN: straight lines between the keyframes' truncated ws; otherwise slerp in z
  const stylegan = c.num_ws > 0;
  const points = [];
  for (const s of keys) {
    const z = latentsForSeeds([s], c.latent_dim);
    points.push(stylegan ? truncateWs(await mapping(z, 1, labels), truncation) : truncate(z, truncation));
  }
  for (let frame = 0; state.walking; frame = (frame + 1) % (keys.length * WALK_FRAMES)) {
    const k = Math.floor(frame / WALK_FRAMES);
    const t = (1 - Math.cos((Math.PI * (frame % WALK_FRAMES)) / WALK_FRAMES)) / 2;
    const [a, b] = [points[k], points[(k + 1) % keys.length]];
    const images = stylegan
      ? { ...c, data: toUint8((await synthesis(a.map((v, i) => (1 - t) * v + t * b[i]), 1)).data, 1) }
      : await generate(slerp(a, b, t), 1, { labels });
    drawGrid($('walk'), images, 1, 256);
    window.ganedge.framesShown += 1;
    await new Promise((resolve) => setTimeout(resolve, 1000 / 24));
  }
}

function showError(err) {
  $('error').textContent = `error: ${err.message ?? err}`;
  $('error').hidden = false;
}
