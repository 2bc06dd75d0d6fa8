// `connect` transport options: proxies (none unless `proxy` names one; `*_PROXY` in the
// environment is ignored) and TLS (`https://` URLs, `caFile`). The environment case runs the
// client in a child node process so the proxy variables never touch this one; the TLS cases
// make a self-signed certificate with the `openssl` command and serve it with `node:https`.

import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'

import { PACKAGE_DIR, SECRET, TOKEN, rejectsWith, startServer, tmpDir, vault } from './helpers.mjs'

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']

/** A fake proxy: counts connections and answers each with a 502 page. */
async function fakeProxy() {
  const proxy = { connections: 0 }
  const srv = net.createServer((sock) => {
    proxy.connections += 1
    sock.on('error', () => {})
    sock.once('data', () => {
      const body = '<html><body>502 Bad Gateway</body></html>'
      sock.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
    })
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  proxy.url = `http://127.0.0.1:${srv.address().port}`
  proxy.close = () => srv.close()
  return proxy
}

const CHILD = `
const vault = require(process.argv[1])
const [url, token, secret, cacheFile] = process.argv.slice(2)
;(async () => {
  const v = await vault.connect(url, { token, cacheFile, timeoutMs: 5000 })
  // A proxy's 502 used to be served from this cache as a stale copy.
  const c = await v.configs.get('svc', 's1')
  if (c.stale) throw new Error('served from the cache: the request did not reach the server')
  if (!(await v.health()).ok) throw new Error('health')
  if ((await v.credentials.get('K', { service: 'svc' })).value !== secret) throw new Error('value')
  v.close()
  console.log('child: all checks passed')
})().catch((e) => {
  console.error(e)
  process.exit(1)
})
`

describe('connect: proxies', () => {
  const cleanup = []
  after(async () => {
    for (const c of cleanup) await c()
  })

  it('HTTP_PROXY / HTTPS_PROXY / ALL_PROXY in the environment are ignored', async () => {
    const server = await startServer()
    cleanup.push(() => server.stop())
    const proxy = await fakeProxy()
    cleanup.push(() => proxy.close())
    const cacheFile = path.join(tmpDir(), 'configs.cache')
    const v = await vault.connect(server.url, { token: TOKEN, cacheFile })
    await v.credentials.put('K', SECRET, { service: 'svc' })
    await v.configs.put('svc', 's1', { params: { n: 1 } })
    await v.configs.get('svc', 's1') // cached now
    v.close()

    const env = { ...process.env }
    for (const k of PROXY_VARS) env[k] = proxy.url
    delete env.NO_PROXY
    delete env.no_proxy
    // Asynchronous: the fake proxy lives on this process's event loop.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', CHILD, PACKAGE_DIR, server.url, TOKEN, SECRET, cacheFile],
      { env, timeout: 60_000 },
    )
    assert.match(stdout, /all checks passed/)
    assert.equal(proxy.connections, 0, "the environment's proxy was used")
  })

  it('an explicit proxy is used', async () => {
    const server = await startServer()
    cleanup.push(() => server.stop())
    const proxy = await fakeProxy()
    cleanup.push(() => proxy.close())
    const v = await vault.connect(server.url, { token: TOKEN, proxy: proxy.url, timeoutMs: 5000 })
    // The proxy's 502 page (no vault error body): the vault is unavailable through it.
    await rejectsWith(assert, v.health(), 'unavailable')
    assert.equal(proxy.connections, 1)
    v.close()
  })

  it('a bad proxy is invalid and never echoed', async () => {
    for (const p of ['not a url', 'socks5://127.0.0.1:1', 'http://user:hunter2@127.0.0.1:1/path']) {
      const e = await rejectsWith(assert, vault.connect('http://127.0.0.1:1', { proxy: p }), 'invalid')
      assert.match(e.message, /proxy/)
      assert.ok(!e.message.includes('hunter2'))
    }
    await rejectsWith(assert, vault.connect('http://127.0.0.1:1', { proxy: 7 }), 'invalid')
    // A good one is taken (no request is made yet).
    ;(await vault.connect('http://127.0.0.1:1', { proxy: 'http://u:p@127.0.0.1:3128' })).close()
  })
})

const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
[ext]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
`

/** A self-signed certificate for localhost and 127.0.0.1 (PEM files), or null without openssl. */
function selfSigned() {
  const dir = tmpDir('vault-node-tls-')
  const [config, cert, key] = ['openssl.cnf', 'cert.pem', 'key.pem'].map((f) => path.join(dir, f))
  fs.writeFileSync(config, OPENSSL_CONFIG)
  const r = spawnSync('openssl', [
    'req', '-x509', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-keyout', key, '-out', cert,
  ])
  return r.status === 0 ? { dir, cert, key } : null
}

const HEALTH = JSON.stringify({
  components: { store: 'connected' },
  message: 'All systems operational',
  service: 'vvault',
  status: 'ok',
  timestamp: '2026-01-02T03:04:05.678Z',
  version: '0.1.0',
})

describe('connect: TLS', () => {
  const tls = selfSigned()
  const skip = tls ? false : 'needs the openssl command to make a test certificate'
  let server
  let requests = 0
  let port

  after(() => {
    server?.close()
    server?.closeAllConnections()
    if (tls) fs.rmSync(tls.dir, { recursive: true, force: true })
  })

  async function start() {
    if (server) return
    server = https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, (req, res) => {
      requests += 1
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
      res.end(HEALTH)
    })
    server.on('tlsClientError', () => {})
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = server.address().port
  }

  it('https with caFile reaches the server', { skip }, async () => {
    await start()
    for (const host of ['127.0.0.1', 'localhost']) {
      const v = await vault.connect(`https://${host}:${port}`, { token: TOKEN, caFile: tls.cert })
      const h = await v.health()
      assert.equal(h.status, 'ok')
      assert.deepEqual(h.components, { store: 'connected' })
      v.close()
    }
  })

  it('https without caFile is unavailable with a certificate error, no request sent', { skip }, async () => {
    await start()
    const before = requests
    const v = await vault.connect(`https://127.0.0.1:${port}`, { token: TOKEN, timeoutMs: 5000 })
    const e = await rejectsWith(assert, v.health(), 'unavailable')
    assert.match(e.message, /certificate/)
    assert.match(e.message, /ca_file/)
    assert.ok(!e.message.includes(TOKEN))
    assert.equal(requests, before)
    v.close()
  })

  it('a bad caFile is invalid (field ca_file)', async () => {
    const dir = tmpDir()
    const notPem = path.join(dir, 'not.pem')
    fs.writeFileSync(notPem, 'hello')
    for (const caFile of [path.join(dir, 'missing.pem'), notPem]) {
      const e = await rejectsWith(assert, vault.connect('https://127.0.0.1:1', { caFile }), 'invalid')
      assert.match(e.message, /ca_file/)
    }
    await rejectsWith(assert, vault.connect('https://127.0.0.1:1', { caFile: 7 }), 'invalid')
    fs.rmSync(dir, { recursive: true, force: true })
  })
})
