// Seeded latents exactly as ganedge/latents.py draws them, so seed N is the same image in the
// browser, in Node.js and in Python: numpy.random.Generator(PCG64(seed)).standard_normal(dim)
// cast to float32. Three parts, each following numpy's definition:
//   SeedSequence(seed)    the integer seed hashed into a 128-bit pool, then into PCG64's state
//   PCG64 (XSL-RR 128/64) 128-bit LCG state, 64-bit outputs
//   ziggurat normal       numpy's own tables (ziggurat.mjs, made by scripts/make_ziggurat_tables.py)
// An ES module with no dependencies: runs in browsers and Node.js alike.

import { FI, KI, WI } from './ziggurat.mjs';

const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULTIPLIER = (2549297995355413924n << 64n) + 4865540595714422341n;
const TWO_POW_53_INV = 1.0 / 9007199254740992.0;

// SeedSequence constants (numpy.random.bit_generator)
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

// The integer seed as little-endian 32-bit words ([0] for seed 0).
function seedWords(seed) {
  const words = [];
  let rest = BigInt(seed);
  do {
    words.push(Number(rest & 0xffffffffn));
    rest >>= 32n;
  } while (rest > 0n);
  return words;
}

// hashmix with its multiplier advanced in place (hash.value), all arithmetic mod 2^32
function hashmix(value, hash) {
  value = (value ^ hash.value) >>> 0;
  hash.value = Math.imul(hash.value, MULT_A) >>> 0;
  value = Math.imul(value, hash.value) >>> 0;
  return (value ^ (value >>> 16)) >>> 0;
}

function mix(x, y) {
  const result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
  return (result ^ (result >>> 16)) >>> 0;
}

function entropyPool(entropy) {
  const hash = { value: INIT_A };
  const pool = new Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) {
    pool[i] = hashmix(i < entropy.length ? entropy[i] : 0, hash);
  }
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hash));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      pool[dst] = mix(pool[dst], hashmix(entropy[src], hash));
    }
  }
  return pool;
}

// SeedSequence.generate_state(count, uint64): 2*count 32-bit words paired little-endian.
function generateState64(pool, count) {
  let hash = INIT_B;
  const words = [];
  for (let i = 0; i < 2 * count; i++) {
    let value = (pool[i % POOL_SIZE] ^ hash) >>> 0;
    hash = Math.imul(hash, MULT_B) >>> 0;
    value = Math.imul(value, hash) >>> 0;
    words.push((value ^ (value >>> 16)) >>> 0);
  }
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push((BigInt(words[2 * i + 1]) << 32n) | BigInt(words[2 * i]));
  }
  return out;
}

/** numpy's PCG64 bit generator: next64() and nextDouble() in numpy's order. */
export class PCG64 {
  constructor(seed) {
    const [s0, s1, i0, i1] = generateState64(entropyPool(seedWords(seed)), 4);
    const initState = (s0 << 64n) | s1;
    const initSeq = (i0 << 64n) | i1;
    this.state = 0n;
    this.inc = ((initSeq << 1n) | 1n) & MASK128;
    this.step();
    this.state = (this.state + initState) & MASK128;
    this.step();
  }

  step() {
    this.state = (this.state * PCG_MULTIPLIER + this.inc) & MASK128;
  }

  // XSL-RR output of the stepped state: rotate (high ^ low) right by the top 6 bits
  next64() {
    this.step();
    const rot = this.state >> 122n;
    const xored = ((this.state >> 64n) ^ this.state) & MASK64;
    return ((xored >> rot) | (xored << ((64n - rot) & 63n))) & MASK64;
  }

  nextDouble() {
    return Number(this.next64() >> 11n) * TWO_POW_53_INV;
  }
}

// Ziggurat for the standard normal: 256 layers of equal area; R is where the tail starts.
const ZIG_R = 3.6541528853610087963519472518;
const ZIG_INV_R = 0.27366123732975827203338247596;

/** One standard-normal float64 draw, numpy's Generator.standard_normal. */
export function standardNormal(rng) {
  for (;;) {
    const r = rng.next64();
    const idx = Number(r & 0xffn);
    const rest = r >> 8n;
    const rabs = Number((rest >> 1n) & 0xfffffffffffffn); // 52 bits: exact as a double
    let x = rabs * WI[idx];
    if (rest & 1n) x = -x;
    if (rabs < KI[idx]) return x;
    if (idx === 0) {
      for (;;) {
        const xx = -ZIG_INV_R * Math.log1p(-rng.nextDouble());
        const yy = -Math.log1p(-rng.nextDouble());
        if (yy + yy > xx * xx) {
          return (rabs >> 8) & 1 ? -(ZIG_R + xx) : ZIG_R + xx;
        }
      }
    }
    const u = rng.nextDouble();
    if ((FI[idx - 1] - FI[idx]) * u + FI[idx] < Math.exp(-0.5 * x * x)) return x;
  }
}

const MAX_SEED = 2n ** 63n - 1n; // as the Python runtime: seeds are int64-sized

/** The (dim,) float32 latent of one seed, equal to ganedge.latents.latent_for_seed. */
export function latentForSeed(seed, dim) {
  const value = BigInt(seed);
  if (value < 0n || value > MAX_SEED) throw new RangeError(`seed: must be in [0, 2^63 - 1] (got ${seed})`);
  const rng = new PCG64(seed);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = standardNormal(rng);
  return out;
}

/** (seeds.length * dim) float32 latents, row after row. */
export function latentsForSeeds(seeds, dim) {
  const out = new Float32Array(seeds.length * dim);
  seeds.forEach((seed, row) => out.set(latentForSeed(seed, dim), row * dim));
  return out;
}

/** Truncation toward the zero mean, z' = psi * z in float32, as ganedge.latents.truncate. */
export function truncate(z, psi) {
  if (!(psi >= 0 && psi <= 1)) throw new RangeError(`truncation: must be in [0, 1] (got ${psi})`);
  if (psi === 1) return z;
  const p = Math.fround(psi);
  return z.map((v) => Math.fround(p * v));
}

/** Parse "0-15,100" like ganedge.latents.parse_seeds (ranges inclusive), at most maxSeeds. */
export function parseSeeds(spec, maxSeeds = Infinity) {
  const seeds = [];
  for (const part of spec.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`seeds: ${JSON.stringify(part)} is not a seed or range: use e.g. 0-15,100`);
    const [start, stop] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (stop > Number.MAX_SAFE_INTEGER) throw new RangeError(`seeds: ${part} is above 2^53 - 1: pass BigInt seeds to ganedge.sample()`);
    if (stop < start) throw new RangeError(`seeds: range ${part} must be ascending`);
    if (seeds.length + stop - start + 1 > maxSeeds) throw new RangeError(`seeds: at most ${maxSeeds} images`);
    for (let s = start; s <= stop; s++) seeds.push(s);
  }
  return seeds;
}
