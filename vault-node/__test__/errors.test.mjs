// The error mapping: every rejection is a VaultError (an Error) whose `.code` is the stable
// code. Checks the wrapper's translation of every code, then provokes the mode-specific codes
// for real: wrong_key and backend_unavailable (embedded), unauthorized and unavailable (remote).

import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { KEY, OTHER_KEY, PACKAGE_DIR, SECRET, TOKEN, closedPort, rejectsWith, startServer, tmpDir, vault } from './helpers.mjs'

/** vault-core's `ErrorCode::ALL`, as the native addon reports it. */
// The same addon the wrapper loaded: the build in VAULT_NODE_ADDON_DIR when set (the test
// script's debug build), else the release build next to index.js.
const NATIVE_CODES = createRequire(import.meta.url)(
  process.env.VAULT_NODE_ADDON_DIR ? path.resolve(process.env.VAULT_NODE_ADDON_DIR, 'native.js') : '../native.js',
).errorCodes()

describe('error translation', () => {
  const translate = vault._translateNativeError

  it('ERROR_CODES is exactly vault-core ErrorCode::ALL (native errorCodes()), in order', () => {
    assert.deepEqual([...vault.ERROR_CODES], NATIVE_CODES)
    assert.equal(NATIVE_CODES.length, 17)
    assert.ok(Object.isFrozen(vault.ERROR_CODES))
  })

  it("index.d.ts's ErrorCode union lists exactly the same codes", () => {
    const dts = fs.readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
    const union = /export type ErrorCode =([^]*?)\n\n/.exec(dts)
    assert.ok(union, 'ErrorCode union found')
    const codes = [...union[1].matchAll(/\|\s*'([a-z_]+)'/g)].map((m) => m[1])
    assert.deepEqual(codes, NATIVE_CODES)
  })

  it('maps every native [vault:<code>] prefix to .code and strips it', () => {
    assert.deepEqual([...vault.ERROR_CODES].sort(), [
      'already_executed',
      'backend_unavailable',
      'budget_exhausted',
      'conflict',
      'forbidden',
      'guard_rejected',
      'integrity',
      'internal',
      'invalid',
      'method_not_allowed',
      'not_found',
      'payload_too_large',
      'proposal_mismatch',
      'rate_limited',
      'unauthorized',
      'unavailable',
      'wrong_key',
    ])
    for (const code of vault.ERROR_CODES) {
      const native = Object.assign(new Error(`[vault:${code}] something about ${code}`), { code: 'GenericFailure' })
      const e = translate(native)
      assert.ok(e instanceof vault.VaultError)
      assert.ok(e instanceof Error)
      assert.equal(e.name, 'VaultError')
      assert.equal(e.code, code)
      assert.equal(e.message, `something about ${code}`)
    }
    // a code added later (a newer server, a newer vault-core) still arrives as its own string
    const later = translate(new Error('[vault:shiny_new_code2] try again later'))
    assert.equal(later.code, 'shiny_new_code2')
    assert.equal(later.message, 'try again later')
  })

  it('napi argument errors become invalid without quoting the value', () => {
    const native = Object.assign(new Error(`Failed to convert JavaScript value \`${SECRET}\` into rust type \`u32\``), {
      code: 'NumberExpected',
    })
    const e = translate(native)
    assert.equal(e.code, 'invalid')
    assert.ok(!e.message.includes(SECRET))
  })

  it('anything else is internal', () => {
    assert.equal(translate(new Error('boom')).code, 'internal')
    assert.equal(translate('not an error').code, 'internal')
    const already = translate(new Error('[vault:conflict] x'))
    assert.equal(translate(already), already)
  })
})

describe('remote: a newer server', () => {
  it("a newer server's unknown code comes through with its code and message", async () => {
    const fake = http.createServer((req, res) => {
      res.writeHead(418, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ code: 'shiny_new_code', error: 'the new rule said no', success: false }))
    })
    fake.listen(0, '127.0.0.1')
    await once(fake, 'listening')
    try {
      const v = await vault.connect(`http://127.0.0.1:${fake.address().port}`, { token: TOKEN, timeoutMs: 3000 })
      const e = await rejectsWith(assert, v.credentials.get('K', { service: 's' }), 'shiny_new_code')
      assert.equal(e.message, 'the new rule said no')
      await rejectsWith(assert, v.configs.history('s', 'default'), 'shiny_new_code')
      v.close()
    } finally {
      fake.close()
      fake.closeAllConnections()
    }
  })
})

describe('embedded: opening', () => {
  const dirs = []
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })
  const dir = () => {
    const d = tmpDir()
    dirs.push(d)
    return d
  }

  it('wrong_key when reopened with another key; the right key still works', async () => {
    const d = dir()
    const v = await vault.open(d, { encryptionKey: KEY })
    await v.credentials.put('K', SECRET, { service: 's' })
    v.close()
    const err = await rejectsWith(assert, vault.open(d, { encryptionKey: OTHER_KEY }), 'wrong_key')
    assert.ok(!err.message.includes(OTHER_KEY) && !err.message.includes(KEY))
    const again = await vault.open(d, { encryptionKey: KEY })
    assert.equal((await again.credentials.get('K')).value, SECRET)
    again.close()
  })

  it('passphrase: reopen with the same one works, another is wrong_key', async () => {
    const d = dir()
    const v = await vault.open(d, { passphrase: 'correct horse battery staple' })
    await v.configs.put('svc', 'default', { params: { a: 1 } })
    v.close()
    await rejectsWith(assert, vault.open(d, { passphrase: 'wrong horse battery' }), 'wrong_key')
    // A placeholder or a short passphrase never creates a vault.
    await rejectsWith(assert, vault.open(dir(), { passphrase: '...' }), 'invalid')
    await rejectsWith(assert, vault.open(dir(), { encryptionKey: 'changeme' }), 'invalid')
    const again = await vault.open(d, { passphrase: 'correct horse battery staple' })
    assert.deepEqual((await again.configs.get('svc', 'default')).params, { a: 1 })
    again.close()
  })

  it('no key: a dev key file in the data directory', async () => {
    const d = dir()
    const v = await vault.open(d)
    assert.equal(v.devKeyFile, path.join(d, 'root.key'))
    assert.ok(fs.existsSync(path.join(d, 'root.key')))
    await v.credentials.put('DEV', 'dev-value', { service: 's' })
    v.close()
    const again = await vault.open(d, {})
    assert.equal((await again.credentials.get('DEV')).value, 'dev-value')
    again.close()
    await rejectsWith(assert, vault.open(d, { encryptionKey: KEY }), 'wrong_key')
    const keyed = await vault.open(dir(), { encryptionKey: KEY })
    assert.equal(keyed.devKeyFile, null)
    keyed.close()
  })

  it('backend_unavailable when the directory is already open', async () => {
    const d = dir()
    const v = await vault.open(d, { encryptionKey: KEY })
    await rejectsWith(assert, vault.open(d, { encryptionKey: KEY }), 'backend_unavailable')
    v.close()
  })

  it('invalid options', async () => {
    await rejectsWith(assert, vault.open(dir(), { encryptionKey: KEY, passphrase: 'x' }), 'invalid')
    await rejectsWith(assert, vault.open(dir(), { encryptionKey: '' }), 'invalid')
    await rejectsWith(assert, vault.open(dir(), { passphrase: '' }), 'invalid')
    await rejectsWith(assert, vault.open(dir(), { encryption_key: KEY }), 'invalid')
    await rejectsWith(assert, vault.open(42), 'invalid')
    // a wrong type is invalid and names the option
    assert.match((await rejectsWith(assert, vault.open(dir(), { encryptionKey: 42 }), 'invalid')).message, /encryptionKey/)
    assert.match((await rejectsWith(assert, vault.open(dir(), { passphrase: ['p'] }), 'invalid')).message, /passphrase/)
  })
})

describe('remote: connecting', () => {
  let server
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    await server?.stop()
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true })
  })

  it('unauthorized with a wrong token or none; the open health endpoint still answers', async () => {
    const good = await vault.connect(server.url, { token: TOKEN })
    await good.credentials.put('AUTHED', SECRET, { service: 's' })
    const wrong = await vault.connect(server.url, { token: 'not-the-token' })
    const e = await rejectsWith(assert, wrong.credentials.get('AUTHED', { service: 's' }), 'unauthorized')
    assert.ok(!e.message.includes('not-the-token') && !e.message.includes(TOKEN))
    await rejectsWith(assert, wrong.credentials.put('X', SECRET, { service: 's' }), 'unauthorized')
    await rejectsWith(assert, wrong.configs.list('s'), 'unauthorized')
    const none = await vault.connect(server.url)
    await rejectsWith(assert, none.credentials.list('s'), 'unauthorized')
    assert.equal((await none.health()).ok, true)
    assert.equal((await good.credentials.get('AUTHED')).value, SECRET)
  })

  it('unavailable when nothing listens on the port', async () => {
    const port = await closedPort()
    const v = await vault.connect(`http://127.0.0.1:${port}`, { token: TOKEN, timeoutMs: 2000 })
    await rejectsWith(assert, v.credentials.get('K', { service: 's' }), 'unavailable')
    await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 's' }), 'unavailable')
    await rejectsWith(assert, v.health(), 'unavailable')
    // nothing cached yet: configs are unavailable too
    await rejectsWith(assert, v.configs.list('s'), 'unavailable')
  })

  it('invalid options', async () => {
    await rejectsWith(assert, vault.connect('ftp://127.0.0.1:1'), 'invalid')
    await rejectsWith(assert, vault.connect('not a url'), 'invalid')
    await rejectsWith(assert, vault.connect(server.url, { cacheFile: path.join(tmpDir(), 'c') }), 'invalid')
    await rejectsWith(assert, vault.connect(server.url, { timeoutMs: 0 }), 'invalid')
    await rejectsWith(assert, vault.connect(server.url, { timeout: 5 }), 'invalid')
    assert.match((await rejectsWith(assert, vault.connect(server.url, { timeoutMs: '5' }), 'invalid')).message, /timeoutMs/)
    assert.match((await rejectsWith(assert, vault.connect(server.url, { token: 7 }), 'invalid')).message, /token/)
    const e = await rejectsWith(assert, vault.connect(server.url, { token: `bad token ${SECRET}` }), 'invalid')
    assert.ok(!e.message.includes(SECRET))
  })
})
