// Run it from the repository root, with the README's dev server up
// (`cargo run --release -p vault-http -- serve`):
//   (cd vault-node && npm install && npm run build) && (cd examples/node && npm install)
//   export VAULT_TOKEN=$(cat vault-data/service.token)
//   node examples/node/chat_client.mjs --seed "Hello!"     # --seed once, to write demo data
// Embedded instead (a directory of its own, never the server's ./vault-data: it is in use):
//   VAULT_DATA="$(mktemp -d)" node examples/node/chat_client.mjs --seed "Hello!"
// Environment: VAULT_URL (default http://127.0.0.1:8000), VAULT_TOKEN or VVAULT_SERVICE_TOKEN,
// CHAT_CACHE_FILE (default chatty-vault-cache in the temp directory), VAULT_DATA (embedded; key
// from VVAULT_ENCRYPTION_KEY, else a dev key file in that directory), LLM_BASE_URL.
//
// @ts-check
//
// A chat service's startup: it reads its LLM key (credential OPENAI_API_KEY of service
// "chatty") and its settings (config chatty/default: model, temperature, system prompt) from the
// vault, then answers one prompt. When the vault server is unreachable it keeps going: settings
// come from the client's last-known-good cache (`stale: true`, kept encrypted in CHAT_CACHE_FILE
// across restarts), and without its key the service runs in offline mode. With LLM_BASE_URL
// set it calls that OpenAI-compatible endpoint; otherwise it prints what it would send.
// The key is never printed: logging the credential record shows `value: '[REDACTED]'`.

import os from 'node:os'
import path from 'node:path'

const SERVICE = 'chatty'
const DEFAULT_URL = 'http://127.0.0.1:8000'
const TOKEN_HINT = 'export VAULT_TOKEN=$(cat vault-data/service.token)'

/**
 * One line on stderr, exit code 1: what a user of the example sees instead of a stack trace.
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  console.error(`error: ${message}`)
  process.exit(1)
}

// Imported here (not statically) to say what to do when the addon is not built yet.
/** @type {typeof import('vault-node')} */
let lib
try {
  lib = await import('vault-node')
} catch (err) {
  fail(
    `cannot load vault-node (${err instanceof Error ? err.message.split('\n')[0] : err}); build it: ` +
      '(cd vault-node && npm install && npm run build) && (cd examples/node && npm install)',
  )
}
const { VaultError, connect, open } = lib

const DEFAULTS = { model: 'gpt-4o-mini', temperature: 0.7, systemPrompt: 'You are a helpful assistant.' }

/** @param {unknown} err @param {string} code */
function isCode(err, code) {
  return err instanceof VaultError && err.code === code
}

async function openVault() {
  if (process.env.VAULT_DATA) {
    const key = process.env.VVAULT_ENCRYPTION_KEY
    return open(process.env.VAULT_DATA, key ? { encryptionKey: key } : {})
  }
  const env = process.env
  const token = env.VAULT_TOKEN || env.VVAULT_SERVICE_TOKEN || env.VAULT_SERVICE_TOKEN
  if (!token) fail(`no service token in VAULT_TOKEN; dev server: ${TOKEN_HINT}`)
  return connect(env.VAULT_URL || DEFAULT_URL, {
    token,
    cacheFile: env.CHAT_CACHE_FILE || path.join(os.tmpdir(), 'chatty-vault-cache'),
    timeoutMs: 3000,
  })
}

/**
 * Demo data: the chat settings and a (fake) LLM key.
 * @param {import('vault-node').Vault} vault
 */
async function seed(vault) {
  await vault.configs.put(SERVICE, 'default', {
    params: { model: 'gpt-4o-mini', temperature: 0.2, systemPrompt: 'You are a terse assistant.' },
    enabled: true,
  })
  await vault.credentials.put('OPENAI_API_KEY', 'sk-demo-not-a-real-key', {
    service: SERVICE,
    metadata: { note: 'demo' },
  })
  console.log('seeded demo settings and key')
}

/**
 * The chat settings: the vault's config, its cached copy, or built-in defaults.
 * @param {import('vault-node').Vault} vault
 */
async function loadSettings(vault) {
  try {
    const cfg = await vault.configs.get(SERVICE, 'default')
    const p = cfg.params
    const settings = {
      model: typeof p.model === 'string' ? p.model : DEFAULTS.model,
      temperature: typeof p.temperature === 'number' ? p.temperature : DEFAULTS.temperature,
      systemPrompt: typeof p.systemPrompt === 'string' ? p.systemPrompt : DEFAULTS.systemPrompt,
    }
    const origin = cfg.stale ? 'STALE: last-known-good, vault unreachable' : 'fresh'
    console.log(`settings: model=${settings.model} temperature=${settings.temperature} (version ${cfg.version}, ${origin})`)
    return settings
  } catch (err) {
    if (isCode(err, 'not_found') || isCode(err, 'unavailable')) {
      const hint = isCode(err, 'not_found') ? '; --seed writes demo ones' : ''
      console.log(`settings: built-in defaults (${err instanceof VaultError ? err.code : 'error'}${hint})`)
      return DEFAULTS
    }
    throw err
  }
}

/**
 * The LLM key, or null (offline mode) when the vault cannot give it.
 * @param {import('vault-node').Vault} vault
 */
async function loadKey(vault) {
  try {
    const cred = await vault.credentials.get('OPENAI_API_KEY', { service: SERVICE })
    console.log(`llm key: ${cred.key} version ${cred.version} loaded`)
    console.log('credential record:', cred) // value shows as [REDACTED]
    return cred.value
  } catch (err) {
    if (isCode(err, 'unavailable') || isCode(err, 'not_found')) {
      console.log(`llm key: unavailable (${err instanceof VaultError ? err.code : 'error'}) -> offline mode`)
      return null
    }
    throw err
  }
}

/** @param {{model: string, temperature: number, systemPrompt: string}} settings @param {string | null} key @param {string} prompt */
async function answer(settings, key, prompt) {
  if (key === null) return `(offline) I cannot reach my language model right now; you said: ${prompt}`
  const base = process.env.LLM_BASE_URL
  if (!base) return `(dry run) would send ${JSON.stringify(prompt)} to ${settings.model} at temperature ${settings.temperature}`
  const res = await fetch(`${base.replace(/\/$/, '')}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: settings.model,
      temperature: settings.temperature,
      messages: [
        { role: 'system', content: settings.systemPrompt },
        { role: 'user', content: prompt },
      ],
    }),
  })
  if (!res.ok) return `(error) the LLM answered HTTP ${res.status}`
  const body = /** @type {{choices?: {message?: {content?: string}}[]}} */ (await res.json())
  return body.choices?.[0]?.message?.content ?? '(empty reply)'
}

const args = process.argv.slice(2)
const seeding = args[0] === '--seed'
const prompt = (seeding ? args[1] : args[0]) ?? 'Hello!'

try {
  const vault = await openVault()
  try {
    console.log(`vault: ${vault.mode}`)
    if (seeding) await seed(vault)
    const settings = await loadSettings(vault)
    const key = await loadKey(vault)
    console.log(`reply: ${await answer(settings, key, prompt)}`)
  } finally {
    vault.close()
  }
} catch (err) {
  if (err instanceof VaultError) {
    const hint =
      err.code === 'unauthorized'
        ? `; is VAULT_TOKEN the server's token? dev server: ${TOKEN_HINT}`
        : err.code === 'unavailable' && !process.env.VAULT_DATA
          ? ` (is the server at ${process.env.VAULT_URL || DEFAULT_URL} running?)`
          : ''
    fail(`${err.message} [${err.code}]${hint}`)
  }
  fail(err instanceof Error ? err.message : String(err))
}
