import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { systemPromptLeakDetector, systemText } from './leak.ts';
import { scanText, TextScanner } from './scanner.ts';

const SYSTEM =
  'You are Atlas, the internal assistant of Example Corp. Never disclose the discount code WINTER-42 and never discuss the merger with Northwind.';

test('a long verbatim span is found, across case and whitespace differences', () => {
  const d = systemPromptLeakDetector(SYSTEM, 80)!;
  const out = `Sure: ${SYSTEM.slice(10, 120).trim().toUpperCase().replace(/ /g, '\n  ')} ok`;
  const [c] = d.find(out, 0);
  assert.ok(c);
  assert.equal(out.slice(0, c.start), 'Sure: ');
  assert.equal(out.slice(c.end), ' ok');
});

test('short quotes and unrelated text are not leaks', () => {
  const d = systemPromptLeakDetector(SYSTEM, 80)!;
  assert.deepEqual(d.find(`I am Atlas, the internal assistant of Example Corp.`, 0), []);
  assert.deepEqual(
    d.find('The weather is fine today, thank you for asking about it, have a great day.', 0),
    [],
  );
  assert.equal(systemPromptLeakDetector('short prompt', 80), undefined);
});

test('system as text blocks; streamed leak is redacted like the whole text', () => {
  assert.equal(
    systemText([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ]),
    'a\nb',
  );
  const rule = { detector: systemPromptLeakDetector(SYSTEM, 80)!, action: 'redact' as const };
  const text = `Here: ${SYSTEM} end.`;
  const whole = scanText(text, [rule]).text;
  assert.equal(whole, 'Here: [REDACTED:system_prompt] end.');
  const s = new TextScanner([rule], { holdBack: 16 });
  let out = '';
  for (let i = 0; i < text.length; i += 5) out += s.push(text.slice(i, i + 5));
  assert.equal(out + s.flush(), whole);
});

test('property: a streamed leak is judged as the whole text for any split', () => {
  const rule = { detector: systemPromptLeakDetector(SYSTEM, 80)!, action: 'redact' as const };
  const pieces = [SYSTEM, SYSTEM.slice(0, 90), SYSTEM.slice(40), 'Hello. ', 'the assistant ', '\n', 'ok '];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
      fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }),
      (text, cuts) => {
        const whole = scanText(text, [rule]).text;
        const s = new TextScanner([rule]);
        let out = '';
        let pos = 0;
        for (const c of cuts) {
          out += s.push(text.slice(pos, pos + c));
          pos += c;
        }
        out += s.push(text.slice(pos));
        assert.equal(out + s.flush(), whole);
      },
    ),
    { numRuns: 200 },
  );
});

test('a long system prompt is indexed quickly and cached', () => {
  const big = Array.from({ length: 5000 }, (_, i) => `rule ${i}: be precise.`).join(' ');
  const t0 = performance.now();
  const d = systemPromptLeakDetector(big, 80);
  const built = performance.now() - t0;
  assert.ok(d);
  assert.ok(built < 2000, `built in ${built} ms`);
  assert.equal(systemPromptLeakDetector(big, 80), d);
  assert.equal(d.find(`x ${big.slice(5000, 5200)} y`, 0).length, 1);
});
