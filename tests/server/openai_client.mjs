// A real OpenAI client (the `openai` npm package) against a running gander-server.
//
//   node openai_client.mjs BASE_URL API_KEY MODEL_ID
//
// Checks the endpoints with and without streaming, the error shapes and status codes, that the
// server listens on loopback only, and that 16 concurrent clients x 8 chat turns each (every client
// with its own `session`) get exactly what a sequential run of the same conversations gets, with
// the session state carried between turns. Prints p50/p99 latency. Exit 0 when every check passed.
import OpenAI from 'openai';
import net from 'node:net';
import os from 'node:os';
import fs from 'node:fs';

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
const port = Number(new URL(baseURL).port);
let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.log(`FAIL: ${what}`);
  }
}

async function expectError(what, status, code, fn) {
  try {
    await fn();
    check(false, `${what}: expected HTTP ${status}, got success`);
  } catch (e) {
    const body = e.error ?? {};
    check(e.status === status, `${what}: expected HTTP ${status}, got ${e.status} (${e.message})`);
    check(typeof body.message === 'string' && 'type' in body && 'param' in body && 'code' in body,
          `${what}: error body has message/type/param/code: ${JSON.stringify(body)}`);
    if (code) check(body.code === code, `${what}: expected code ${code}, got ${body.code}`);
  }
}

async function streamText(stream) {
  let text = '', finish = null, usage = null, role = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta?.role) role = c.delta.role;
      text += c.delta?.content ?? c.text ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { text, finish, usage, role };
}

// --- endpoints -------------------------------------------------------------------------------
const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === model, `/v1/models lists ${model}`);

const ask = { model, messages: [{ role: 'user', content: 'Tell me about geese.' }], max_tokens: 12,
              temperature: 0 };
const plain = await client.chat.completions.create(ask);
check(plain.object === 'chat.completion', 'chat: object');
check(plain.choices[0].message.role === 'assistant', 'chat: role');
check(plain.choices[0].message.content.length > 0, 'chat: some text');
check(['stop', 'length'].includes(plain.choices[0].finish_reason), 'chat: finish_reason');
check(plain.usage.prompt_tokens > 0 && plain.usage.completion_tokens > 0 &&
      plain.usage.total_tokens === plain.usage.prompt_tokens + plain.usage.completion_tokens,
      `chat: usage ${JSON.stringify(plain.usage)}`);
const streamed = await streamText(await client.chat.completions.create(
  { ...ask, stream: true, stream_options: { include_usage: true } }));
check(streamed.text === plain.choices[0].message.content,
      `chat stream == chat: ${JSON.stringify(streamed.text)} vs ${JSON.stringify(plain.choices[0].message.content)}`);
check(streamed.role === 'assistant' && streamed.finish === plain.choices[0].finish_reason, 'chat stream: role, finish');
check(streamed.usage?.completion_tokens === plain.usage.completion_tokens, 'chat stream: usage');

const comp = await client.completions.create({ model, prompt: 'The goose', max_tokens: 10, temperature: 0 });
check(comp.object === 'text_completion' && comp.choices[0].text.length > 0, 'completion: text');
check(comp.usage.completion_tokens === 10 && comp.choices[0].finish_reason === 'length', 'completion: max_tokens');
const compStream = await streamText(await client.completions.create(
  { model, prompt: 'The goose', max_tokens: 10, temperature: 0, stream: true }));
check(compStream.text === comp.choices[0].text, 'completion stream == completion');
const stopped = await client.completions.create(
  { model, prompt: 'The goose', max_tokens: 10, temperature: 0, stop: [comp.choices[0].text.slice(3, 5)] });
check(stopped.choices[0].finish_reason === 'stop' && stopped.choices[0].text === comp.choices[0].text.slice(0, 3),
      `completion: stop string cuts the text (${JSON.stringify(stopped.choices[0].text)})`);

// --- errors ------------------------------------------------------------------------------------
await expectError('wrong key', 401, 'invalid_api_key', () =>
  new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).chat.completions.create(ask));
await expectError('unknown model', 404, 'model_not_found', () =>
  client.chat.completions.create({ ...ask, model: 'gpt-4o' }));
await expectError('wrong type (temperature)', 400, 'invalid_type', () =>
  client.chat.completions.create({ ...ask, temperature: 'warm' }));
await expectError('wrong type (messages)', 400, 'invalid_type', () =>
  client.chat.completions.create({ ...ask, messages: 'hello' }));
await expectError('wrong type (max_tokens)', 400, 'invalid_type', () =>
  client.chat.completions.create({ ...ask, max_tokens: 2.5 }));
await expectError('max_tokens over the limit', 400, 'invalid_value', () =>
  client.chat.completions.create({ ...ask, max_tokens: 1e7 }));
await expectError('huge body', 413, 'request_too_large', () =>
  client.chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }));
await expectError('unknown route', 404, 'unknown_url', () => client.get('/nothing/here'));
for (const [what, body] of [['malformed JSON', '{"model": "x", "messages": ['], ['not an object', '[1,2]']]) {
  const r = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST', body, headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' } });
  const j = await r.json();
  check(r.status === 400 && j.error?.code === 'invalid_json', `${what}: ${r.status} ${JSON.stringify(j)}`);
}

// --- loopback only -----------------------------------------------------------------------------
const tcp = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/))
  .filter(f => f.length > 3 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port);
check(tcp.length === 1 && tcp[0][1].split(':')[0] === '0100007F',
      `listening socket on 127.0.0.1 only: ${JSON.stringify(tcp.map(f => f[1]))}`);
const tcp6 = fs.existsSync('/proc/net/tcp6') ? fs.readFileSync('/proc/net/tcp6', 'utf8').split('\n').slice(1)
  .map(l => l.trim().split(/\s+/)).filter(f => f.length > 3 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) : [];
check(tcp6.length === 0, 'no IPv6 listening socket');
const external = Object.values(os.networkInterfaces()).flat().find(a => a && !a.internal && a.family === 'IPv4');
if (external) {
  const refused = await new Promise(resolve => {
    const s = net.connect({ host: external.address, port, timeout: 3000 });
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
    s.on('timeout', () => { s.destroy(); resolve(true); });
  });
  check(refused, `connection to ${external.address}:${port} is refused`);
  console.log(`non-loopback ${external.address}:${port}: ${refused ? 'refused' : 'ACCEPTED'}`);
} else {
  console.log('no non-loopback IPv4 address on this machine; checked /proc/net/tcp only');
}

// --- 16 concurrent clients x 8 turns, each with its own session ---------------------------------
const CLIENTS = 16, TURNS = 8;
async function conversation(i, prefix, latencies) {
  const messages = [];
  const turns = [];
  for (let j = 0; j < TURNS; j++) {
    messages.push({ role: 'user', content: `Client ${i} asks question ${j}: what do geese eat in month ${i + j}?` });
    const t0 = performance.now();
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 8, temperature: 1.2, top_p: 1, seed: 1000 * i + j,
      presence_penalty: 0, frequency_penalty: 0, session: `${prefix}-${i}` });
    latencies?.push(performance.now() - t0);
    const reply = r.choices[0].message.content;
    turns.push({ reply, usage: r.usage });
    messages.push({ role: 'assistant', content: reply });
  }
  return turns;
}

const t0 = performance.now();
const reference = [];
for (let i = 0; i < CLIENTS; i++) reference.push(await conversation(i, 'seq'));
const sequentialMs = performance.now() - t0;
const latencies = [];
const t1 = performance.now();
const concurrent = await Promise.all([...Array(CLIENTS).keys()].map(i => conversation(i, 'par', latencies)));
const concurrentMs = performance.now() - t1;

let same = 0, cachedTurns = 0;
for (let i = 0; i < CLIENTS; i++) {
  for (let j = 0; j < TURNS; j++) {
    const a = concurrent[i][j], b = reference[i][j];
    if (a.reply === b.reply && a.usage.prompt_tokens === b.usage.prompt_tokens) same++;
    // Continuity: from the second turn on, the session's state covers at least the previous
    // prompt; a reply given to the wrong client would break the text match and the cache.
    if (j > 0) {
      const prev = concurrent[i][j - 1].usage;
      const cached = a.usage.prompt_tokens_details?.cached_tokens ?? 0;
      const ok = cached >= prev.prompt_tokens && cached <= prev.prompt_tokens + prev.completion_tokens + 2;
      if (ok) cachedTurns++;
      check(ok, `client ${i} turn ${j}: cached ${cached} tokens, previous prompt ${prev.prompt_tokens}`);
    }
  }
}
check(same === CLIENTS * TURNS, `concurrent replies equal the sequential run: ${same}/${CLIENTS * TURNS}`);
check(latencies.length === CLIENTS * TURNS, `every request answered: ${latencies.length}`);
const health = await (await fetch(baseURL.replace(/\/v1\/?$/, '/health'))).json();
latencies.sort((a, b) => a - b);
const pct = p => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({
  requests: latencies.length, equal_to_sequential: same, session_continuity: `${cachedTurns}/${CLIENTS * (TURNS - 1)}`,
  p50_ms: +pct(0.5).toFixed(1), p99_ms: +pct(0.99).toFixed(1),
  concurrent_wall_ms: +concurrentMs.toFixed(0), sequential_wall_ms: +sequentialMs.toFixed(0),
  mean_decode_batch: +health.mean_batch.toFixed(2), saved_sessions: health.sessions }));
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
