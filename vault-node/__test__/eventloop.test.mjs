// The awaited API never holds the event loop: while a genuinely slow call is in flight (an
// embedded open with a passphrase, which runs Argon2id; a remote get through a proxy that holds
// every answer for 500 ms), a 10 ms interval timer keeps firing. A call that did its work on the
// JS thread would let no tick through before it settled: the first test shows that the measure
// sees exactly that.

import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'

import { KEY, SECRET, TOKEN, setupMode, tmpDir, vault } from './helpers.mjs'

const INTERVAL_MS = 10
const PROXY_DELAY_MS = 500

/**
 * Starts `call()` with a `INTERVAL_MS` interval timer running and returns how often the timer
 * fired before the call settled, how long the call took, and its result.
 */
async function ticksDuring(call) {
  let ticks = 0
  const timer = setInterval(() => ticks++, INTERVAL_MS)
  const start = performance.now()
  try {
    const result = await call()
    return { ticks, ms: performance.now() - start, result }
  } finally {
    clearInterval(timer)
  }
}

/** Asserts the timer fired several times while `call` was in flight; returns its result. */
async function assertLoopFree(call, minMs) {
  const { ticks, ms, result } = await ticksDuring(call)
  assert.ok(ms >= minMs, `the call is slow enough to measure (${ms.toFixed(0)} ms, want >= ${minMs})`)
  // At least a third of the ticks an idle loop would give: the machine may be busy, but a held
  // loop gives none.
  const want = Math.max(5, Math.floor(ms / INTERVAL_MS / 3))
  assert.ok(ticks >= want, `timer fired ${ticks} times during a ${ms.toFixed(0)} ms call (want >= ${want})`)
  return result
}

/**
 * A TCP proxy on 127.0.0.1 in front of `url` that forwards requests at once and holds every
 * chunk of the answers for `delayMs`. Returns `{ url, close() }`.
 */
async function delayingProxy(url, delayMs) {
  const upstreamPort = Number(new URL(url).port)
  const sockets = new Set()
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.on('data', (chunk) => setTimeout(() => client.write(chunk), delayMs))
    upstream.on('end', () => setTimeout(() => client.end(), delayMs))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    async close() {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}

describe('the event loop is not held by a call in flight', () => {
  it('the measure itself: a call that works on the JS thread lets no tick through', async () => {
    const { ticks, ms } = await ticksDuring(async () => {
      const end = performance.now() + 200
      while (performance.now() < end) {
        // busy, as a synchronous read of 200 ms would be
      }
    })
    assert.ok(ms >= 200)
    assert.equal(ticks, 0)
  })

  it('embedded: open with a passphrase (Argon2id on a Rust thread)', async () => {
    const dir = tmpDir()
    try {
      const v = await assertLoopFree(() => vault.open(dir, { passphrase: 'correct horse battery staple' }), 50)
      v.close()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  describe('remote: calls to a server that answers after 500 ms', () => {
    let env
    let proxy
    let slow
    before(async () => {
      env = await setupMode('remote')
      await env.vault.credentials.put('SLOW', SECRET, { service: 's' })
      proxy = await delayingProxy(env.server.url, PROXY_DELAY_MS)
      slow = await vault.connect(proxy.url, { token: TOKEN, timeoutMs: 10_000 })
    })
    after(async () => {
      slow?.close()
      await proxy?.close()
      await env?.teardown()
    })

    it('credentials.get', async () => {
      const cred = await assertLoopFree(() => slow.credentials.get('SLOW', { service: 's' }), PROXY_DELAY_MS - 50)
      assert.equal(cred.value, SECRET)
    })

    it('configs.put, then configs.get', async () => {
      await assertLoopFree(() => slow.configs.put('s', 'default', { params: { a: 1 } }), PROXY_DELAY_MS - 50)
      const cfg = await assertLoopFree(() => slow.configs.get('s', 'default'), PROXY_DELAY_MS - 50)
      assert.deepEqual(cfg.params, { a: 1 })
    })
  })

  it('embedded: a burst of 64 KiB puts', async () => {
    const dir = tmpDir()
    const v = await vault.open(dir, { encryptionKey: KEY })
    try {
      const value = 'v'.repeat(65_536)
      const results = await assertLoopFree(
        () => Promise.all(Array.from({ length: 40 }, (_, i) => v.credentials.put(`BIG_${i}`, value, { service: 'big' }))),
        50,
      )
      assert.equal(results.length, 40)
    } finally {
      v.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
