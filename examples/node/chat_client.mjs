// Run (from the repo root, with a vault-http server up, see below):
//   (cd vault-node && npm install && npm run build) && (cd examples/node && npm install)
//   VAULT_URL=http://127.0.0.1:8000 VVAULT_SERVICE_TOKEN=dev-token node examples/node/chat_client.mjs "Hello!"
// Server: VVAULT_SERVICE_TOKEN=dev-token ./target/debug/vault-http serve --addr 127.0.0.1:8000 --data ./vault-data
// Embedded instead of remote: VAULT_DATA=./chat-vault node examples/node/chat_client.mjs "Hello!"
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

import { VaultError, connect, open } from 'vault-node'

const SERVICE = 'chatty'
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
  return connect(process.env.VAULT_URL ?? 'http://127.0.0.1:8000', {
    token: process.env.VVAULT_SERVICE_TOKEN,
    cacheFile: process.env.CHAT_CACHE_FILE ?? path.join(os.tmpdir(), 'chatty-vault-cache'),
    timeoutMs: 3000,
  })
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
      console.log(`settings: built-in defaults (${err instanceof VaultError ? err.code : 'error'})`)
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

const vault = await openVault()
console.log(`vault: ${vault.mode}`)
const settings = await loadSettings(vault)
const key = await loadKey(vault)
const prompt = process.argv[2] ?? 'Hello!'
console.log(`reply: ${await answer(settings, key, prompt)}`)
vault.close()
