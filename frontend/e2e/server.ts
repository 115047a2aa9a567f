/**
 * Starts the real server for the end-to-end run: a fresh data dir, `tessera seed`, then
 * `tessera serve` on a free port with the built SPA, an admin with one-time codes, and rate
 * limits off. Embedded default (SQLite, in-process cache, local disk): DATABASE_URL, REDIS_URL
 * and S3_* are removed from the child's environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(FRONTEND, 'dist');
export const OTP_ADMIN = { email: 'otp-admin@example.org', password: 'otp-admin-e2e-password-2026', secret: 'JBSWY3DPEHPK3PXP' };

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'DATABASE_URL' || k === 'REDIS_URL' || k === 'REDIS_STATE_URL' || k.startsWith('S3_') || k.startsWith('TESSERA_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`${bin} ${args.join(' ')} exited ${code}\n${stderr}`))));
  });
}

export interface RunningServer {
  baseUrl: string;
  dataDir: string;
  stop: () => Promise<void>;
}

export async function startServer(): Promise<RunningServer> {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: run npm run build first`);
  }
  const bin = resolve(FRONTEND, process.env.TESSERA_BIN ?? '../target/debug/tessera');
  if (!existsSync(bin)) {
    throw new Error(`no server binary at ${bin}: build it (cargo build --bin tessera) or set TESSERA_BIN`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const base = { TESSERA_DATA_DIR: dataDir, APP_ENV: 'development', RUST_LOG: 'warn' };
  // The admin of TESSERA_ADMIN_EMAIL (with its one-time codes) is only created while no admin
  // exists, and the seed creates two: so serve once on the empty data dir first, then seed.
  const first = await serve(bin, base);
  await first.stop();
  await run(bin, ['seed'], childEnv(base));
  const server = await serve(bin, base);
  return {
    baseUrl: server.baseUrl,
    dataDir,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function serve(bin: string, base: Record<string, string>): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['serve'], {
    env: childEnv({
      ...base,
      TESSERA_ADDR: `127.0.0.1:${port}`,
      TESSERA_FRONTEND_DIR: DIST,
      TESSERA_ADMIN_EMAIL: OTP_ADMIN.email,
      TESSERA_ADMIN_PASSWORD: OTP_ADMIN.password,
      ADMIN_OTP_SECRET: OTP_ADMIN.secret,
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      RATE_LIMIT_OTP_PER_MINUTE: '0',
      RATE_LIMIT_API_PER_MINUTE: '0',
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`tessera serve exited early:\n${log}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tessera serve was not ready within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl,
    stop: async () => {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
    },
  };
}
