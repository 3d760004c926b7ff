/**
 * Micro-benchmark: the usage reducer (`usageFromMessage`) on a non-streaming
 * Message body, alone and with the JSON.parse the gateway does before it.
 *
 *   node bench/micro/usage.bench.ts
 */
import { usageFromMessage } from '../../src/anthropic/usage.ts';
import { bench } from './harness.ts';

const body = JSON.stringify({
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text: 'Hello! How can I help you today?' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: {
    input_tokens: 2095,
    cache_creation_input_tokens: 2051,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 2051, ephemeral_1h_input_tokens: 0 },
    output_tokens: 503,
    output_tokens_details: { thinking_tokens: 0 },
    server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
    service_tier: 'standard',
    inference_geo: 'global',
    speed: 'standard',
  },
});
const parsed = JSON.parse(body);
const batchLine = { custom_id: 'a', result: { type: 'succeeded', message: parsed } };

console.log(`usage reducer (${body.length} byte Message)`);
bench('usageFromMessage(parsed Message)', () => usageFromMessage(parsed).outputTokens);
bench('usageFromMessage(batch result line)', () => usageFromMessage(batchLine).outputTokens);
bench('JSON.parse + usageFromMessage', () => usageFromMessage(JSON.parse(body)).outputTokens);
