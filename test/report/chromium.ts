// Headless Chromium (Debian's `chromium`, installed by .ci/run) for the HTML report's tests: a
// screenshot, the DOM after scripts ran, and a small PNG reader to look at the pixels.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

export const CHROMIUM = process.env.BUGZAPP_CHROMIUM ?? '/usr/bin/chromium';

/** No network chatter, no profile reuse: each run gets a fresh --user-data-dir. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
];

/** Runs Chromium on a file; resolves with its stdout once it exits 0, rejects otherwise or after the timeout. */
export async function runChromium(args: string[], file: string, timeoutMs = 60_000): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'bugzapp-chromium-'));
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args, pathToFileURL(file).href], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`chromium did not finish in ${timeoutMs} ms; stderr: ${err.slice(-2000)}`));
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${CHROMIUM} (apt-get install chromium; .ci/run does): ${e.message}`));
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`chromium exited ${code}; stderr: ${err.slice(-2000)}`));
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

export async function screenshot(file: string, png: string, opts: { width?: number; height?: number; dark?: boolean } = {}): Promise<void> {
  await runChromium([`--window-size=${opts.width ?? 1280},${opts.height ?? 1000}`, ...(opts.dark ? ['--force-dark-mode'] : []), `--screenshot=${png}`], file);
}

/** The DOM once the page has loaded and its scripts ran. */
export function dumpDom(file: string): Promise<string> {
  return runChromium(['--dump-dom'], file);
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  rgba: Uint8Array;
}

/** Decodes an 8-bit, non-interlaced PNG (grey, RGB or RGBA, as Chromium writes them). */
export function decodePng(buf: Buffer): Image {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      colorType = data[9]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : colorType === 0 ? 1 : 0;
  if (channels === 0) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const cur = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      let v = line[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const s = x * channels;
      rgba[o] = cur[s]!;
      rgba[o + 1] = channels === 1 ? cur[s]! : cur[s + 1]!;
      rgba[o + 2] = channels === 1 ? cur[s]! : cur[s + 2]!;
      rgba[o + 3] = channels === 4 ? cur[s + 3]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba };
}

/** Pixels within `tolerance` (per channel) of the colour `hex` (`#2563eb`). */
export function countColour(img: Image, hex: string, tolerance = 24): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) {
    if (Math.abs(img.rgba[i]! - r) <= tolerance && Math.abs(img.rgba[i + 1]! - g) <= tolerance && Math.abs(img.rgba[i + 2]! - b) <= tolerance) n++;
  }
  return n;
}

/** The colour of one pixel, `#rrggbb`. */
export function pixel(img: Image, x: number, y: number): string {
  const o = (y * img.width + x) * 4;
  return `#${[0, 1, 2].map((k) => img.rgba[o + k]!.toString(16).padStart(2, '0')).join('')}`;
}

/** Every way a page could pull something from the network. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const re of [/\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\//gi, /@import/gi, /url\(\s*["']?\s*(?:https?:)?\/\//gi, /<(?:link|iframe|object|embed|img)\b/gi]) {
    for (const m of html.matchAll(re)) found.push(m[0]);
  }
  return found;
}
