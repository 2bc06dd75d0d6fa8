// Shared test helpers: the two modes (embedded in a tmp dir, remote against a real vault-http
// spawned on a free port), secrets that must never leak, and process cleanup.

import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
// The addon under test: the build in VAULT_NODE_ADDON_DIR (`npm test` sets build/debug), made
// absolute so that subprocesses started from another directory load the same one.
if (process.env.VAULT_NODE_ADDON_DIR) {
  process.env.VAULT_NODE_ADDON_DIR = path.resolve(process.env.VAULT_NODE_ADDON_DIR)
}
/** The package under test, loaded the way a CommonJS user would. */
export const vault = require('..')

export const HERE = path.dirname(fileURLToPath(import.meta.url))
export const PACKAGE_DIR = path.resolve(HERE, '..')
export const REPO_DIR = path.resolve(PACKAGE_DIR, '..')

/** Root key of every vault in the tests (64 hex digits). */
export const KEY = '7f'.repeat(32)
/** Another valid key: opening a vault made with KEY must fail with wrong_key. */
export const OTHER_KEY = '3c'.repeat(32)
/** The service token of every spawned server. */
export const TOKEN = 'node-test-token-5b1e9c-0123456789abcdef'
/** A credential value that must never appear in output, JSON or error messages. */
export const SECRET = 'sk-live-TOPSECRET-9f8e7d6c5b4a'

const children = new Set()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

export function tmpDir(prefix = 'vault-node-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/**
 * The vault-http binary: `VAULT_HTTP_BIN`, or `<host triple>/debug/vault-http` under
 * `CARGO_TARGET_DIR` (default `<repo>/target`; .cargo/config.toml makes cargo build for the host
 * triple by name). Fails loudly when missing.
 */
/** This machine's target triple (`rustc -vV`'s `host:` line). */
function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  return /^host: (\S+)$/m.exec(out)[1]
}

export function serverBin() {
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO_DIR, process.env.CARGO_TARGET_DIR)
    : path.join(REPO_DIR, 'target')
  const bin = process.env.VAULT_HTTP_BIN
    ? path.resolve(process.env.VAULT_HTTP_BIN)
    : path.join(targetDir, hostTriple(), 'debug', 'vault-http')
  if (!fs.existsSync(bin)) {
    throw new Error(
      `vault-http binary not found at ${bin}: run \`cargo build -p vault-http\` from the repo ` +
        'root, or set VAULT_HTTP_BIN',
    )
  }
  return bin
}

/**
 * Spawns `vault-http serve --addr 127.0.0.1:0 --data <dataDir>` and waits for its
 * `listening on http://...` line. Returns `{ url, child, stop() }`.
 */
export async function startServer({ dataDir = tmpDir('vault-node-srv-'), token = TOKEN, key = KEY } = {}) {
  const child = spawn(serverBin(), ['serve', '--addr', '127.0.0.1:0', '--data', dataDir], {
    env: { ...process.env, VVAULT_SERVICE_TOKEN: token, VVAULT_ENCRYPTION_KEY: key },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const url = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`vault-http did not print its address within 20 s\nstdout: ${out}\nstderr: ${stderr}`))
    }, 20_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`vault-http exited early (${code ?? signal})\nstdout: ${out}\nstderr: ${stderr}`))
    })
  })
  child.stdout.resume()
  const exited = once(child, 'exit')
  return {
    url,
    dataDir,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      children.delete(child)
    },
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort() {
  const srv = net.createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address()
  srv.close()
  await once(srv, 'close')
  return port
}

/**
 * Opens a fresh vault in `mode` (`"embedded"` or `"remote"`). Returns `{ vault, teardown, ... }`.
 */
export async function setupMode(mode) {
  if (mode === 'embedded') {
    const dir = tmpDir()
    const v = await vault.open(dir, { encryptionKey: KEY })
    return {
      mode,
      vault: v,
      dir,
      /** Another vault of this mode (embedded: in its own tmp dir; sled locks a directory). */
      another: () => vault.open(tmpDir(), { encryptionKey: KEY }),
      async teardown() {
        v.close()
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  if (mode === 'remote') {
    const server = await startServer()
    const v = await vault.connect(server.url, { token: TOKEN, timeoutMs: 5000 })
    return {
      mode,
      vault: v,
      server,
      /** Another client of the same server. */
      another: (opts = {}) => vault.connect(server.url, { token: TOKEN, ...opts }),
      async teardown() {
        v.close()
        await server.stop()
        fs.rmSync(server.dataDir, { recursive: true, force: true })
      },
    }
  }
  throw new Error(`unknown mode ${mode}`)
}

/** Asserts `promise` rejects with a VaultError of `code`; returns the error. */
export async function rejectsWith(assert, promise, code) {
  let err
  try {
    await promise
  } catch (e) {
    err = e
  }
  assert.ok(err, `expected a rejection with code ${code}, but the call resolved`)
  assert.ok(err instanceof Error, 'rejection is an Error')
  assert.ok(err instanceof vault.VaultError, `rejection is a VaultError (got ${err?.name}: ${err?.message})`)
  assert.equal(err.code, code, `code (message: ${err.message})`)
  assert.ok(!err.message.startsWith('[vault:'), 'native prefix stripped from the message')
  assert.ok(!String(err.message).includes(SECRET), 'no secret in the message')
  assert.ok(!String(err.stack).includes(SECRET), 'no secret in the stack')
  return err
}

/** RFC 3339 UTC with milliseconds, as the vault prints timestamps. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
