// Run: (cd vault-node && npm run build && node bench/get.mjs [seconds-per-figure])
// It measures what index.js loads: the release build of `npm run build`, unless VAULT_NODE_ADDON_DIR
// is set (`build/debug` would give debug-build figures).
// Needs target/<host triple>/debug/vault-http (or VAULT_HTTP_BIN) for the remote figures.
//
// credentials.get calls per second through the Node package: embedded (sled in a tmp dir) and
// remote (a vault-http server on loopback), one call at a time and with 64 calls in flight, and
// the embedded credentials.getSync (calls on the JS thread, one after another).
// Also prints the process CPU time per get (all threads): on a shared machine it varies less
// than the rate. Prints figures only; not part of the tests.

import fs from 'node:fs'

import { KEY, TOKEN, startServer, tmpDir, vault } from '../__test__/helpers.mjs'

const seconds = Number(process.argv[2] ?? 2)

/** @param {() => Promise<unknown>} call @param {number} inFlight */
async function rate(call, inFlight) {
  for (let i = 0; i < 200; i++) await call() // warm up
  let done = 0
  const end = performance.now() + seconds * 1000
  const worker = async () => {
    while (performance.now() < end) {
      await call()
      done++
    }
  }
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  return figures(done, start, cpu)
}

/** Calls per second and CPU µs per call since `start` / `cpu`. */
function figures(done, start, cpu) {
  const used = process.cpuUsage(cpu)
  return { rate: done / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / done }
}

/** @param {() => unknown} call */
function rateSync(call) {
  for (let i = 0; i < 2000; i++) call() // warm up
  let done = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) call()
    done += 100
  }
  return figures(done, start, cpu)
}

/** @param {string} label @param {string} what @param {{ rate: number, cpuUs: number }} f */
function report(label, what, f) {
  const rate = Math.round(f.rate).toLocaleString('en-US').padStart(9)
  console.log(`${label.padEnd(9)} ${what}: ${rate} gets/s  ${f.cpuUs.toFixed(1).padStart(5)} µs CPU/get`)
}

/** @param {string} label @param {import('vault-node').Vault} v */
async function bench(label, v) {
  await v.credentials.put('BENCH_KEY', 'sk-bench-value', { service: 'bench' })
  const get = () => v.credentials.get('BENCH_KEY', { service: 'bench' })
  for (const inFlight of [1, 64]) {
    report(label, `in flight ${String(inFlight).padStart(2)}`, await rate(get, inFlight))
  }
  if (v.mode === 'embedded') {
    report(label, 'getSync     ', rateSync(() => v.credentials.getSync('BENCH_KEY', { service: 'bench' })))
  }
}

const dir = tmpDir('vault-node-bench-')
const embedded = await vault.open(dir, { encryptionKey: KEY })
await bench('embedded', embedded)
embedded.close()
fs.rmSync(dir, { recursive: true, force: true })

const server = await startServer()
const remote = await vault.connect(server.url, { token: TOKEN })
await bench('remote', remote)
remote.close()
await server.stop()
fs.rmSync(server.dataDir, { recursive: true, force: true })
