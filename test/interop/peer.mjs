// The GStreamer peers of the interop tests (python scripts in this folder) as child processes
// speaking JSON lines on stdout, and the python that can run them.

import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SKIP = 77;
// The peers run from the source tree: keep it free of __pycache__.
const PY_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };

// The GStreamer peers need Debian's python3 (python3-gi lives there); a pyenv or venv python
// first on PATH would not see it. SLUICE_GST_PYTHON names the one to use instead. Exits 77
// (meson: SKIP) when GStreamer, its bindings or a plugin is missing, 1 when a probe fails
// for another reason.
export function findPython(log) {
  const candidates = process.env.SLUICE_GST_PYTHON ? [process.env.SLUICE_GST_PYTHON] : ['/usr/bin/python3', 'python3'];
  const reasons = [];
  let broken = false; // a probe failed for another reason than "not installed": not a skip
  for (const python of candidates) {
    const probe = spawnSync(python, [join(HERE, 'gstpeer.py')], { encoding: 'utf8', env: PY_ENV });
    if (probe.status === 0) {
      log(probe.stdout.trim());
      return python;
    }
    broken ||= !(probe.error?.code === 'ENOENT' || probe.status === SKIP);
    reasons.push(`${python}: ${probe.error ? probe.error.message : (probe.stderr || '').trim()}`);
  }
  if (broken) {
    console.error(`FAIL: cannot start the GStreamer peers:\n  ${reasons.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`SKIP: GStreamer interop needs python3 with GStreamer bindings and the VP8/RTP plugins `
    + `(Debian: gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-gi gir1.2-gstreamer-1.0 `
    + `python3-gst-1.0; scripts/setup installs them).\n  ${reasons.join('\n  ')}`);
  process.exit(SKIP);
}

// A GStreamer peer as a child process speaking JSON lines on stdout.
export class Peer {
  constructor(python, name, script, verbose, args) {
    this.name = name;
    this.stderr = '';
    this.events = [];
    this.waiters = [];
    this.child = spawn(python, [join(HERE, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: PY_ENV });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited.then(({ code, signal }) => {
      this.exitInfo = { code, signal };
      this.notify();
    });
    let pending = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line));
        } catch {
          this.stderr += `${line}\n`;
        }
        this.notify();
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      if (verbose) process.stderr.write(`[${name}] ${chunk}`);
    });
  }

  notify() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  // Resolves with the first event named `event` (or, given a function, the first event it
  // accepts) at index `from` or later in this.events; rejects if the peer reports an error or
  // exits first, or after timeoutMs.
  async waitFor(event, timeoutMs, from = 0) {
    const accept = typeof event === 'function' ? event : (e) => e.event === event;
    const what = typeof event === 'function' ? (event.description ?? 'a matching event') : `'${event}'`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(accept);
      if (found) return found;
      const error = this.events.find((e) => e.event === 'error');
      if (error) throw new Error(`${this.name}: ${error.message} (${error.debug ?? ''})`);
      if (this.exitInfo) {
        throw new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(line) {
    if (this.child.stdin.writable) this.child.stdin.write(`${line}\n`);
  }

  kill() {
    if (!this.exitInfo) this.child.kill('SIGKILL');
  }
}
