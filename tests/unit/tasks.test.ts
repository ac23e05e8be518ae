import { describe, expect, it } from 'vitest';
import { BUILTIN_TASK_SETS, builtinTaskSet, splitTasks } from '../../src/core/tasks/builtin.ts';
import { checkBuiltinTask, checkMathAnswer } from '../../src/core/tasks/check.ts';
import { INSTRUCTION_TASKS } from '../../src/core/tasks/instruction-prompts.ts';
import { MATH_TASKS } from '../../src/core/tasks/math-problems.ts';
import { extractFinalNumber, numbersMatch, parseNumberText } from '../../src/core/tasks/numeric-answer.ts';
import { OPEN_TASKS } from '../../src/core/tasks/open-prompts.ts';
import { checkRule, checkRules, describeRule, parseRule, RULE_TYPES, type Rule } from '../../src/core/tasks/rules.ts';
import { assignSplit } from '../../src/core/tasks/split.ts';
import { countSentences, countWords, paragraphs } from '../../src/core/tasks/text-measure.ts';

describe('built-in task sets', () => {
  it('have the promised sizes, unique stable ids, kinds and both splits', () => {
    expect(MATH_TASKS.length).toBeGreaterThanOrEqual(50);
    expect(INSTRUCTION_TASKS.length).toBeGreaterThanOrEqual(50);
    expect(OPEN_TASKS.length).toBeGreaterThanOrEqual(30);
    const all = BUILTIN_TASK_SETS.flatMap((s) => s.tasks);
    expect(new Set(all.map((t) => t.id)).size).toBe(all.length);
    expect(new Set(all.map((t) => t.prompt)).size).toBe(all.length);
    for (const set of BUILTIN_TASK_SETS) {
      expect(set.tasks.every((t) => t.kind === set.id && t.source === 'builtin')).toBe(true);
      const evalShare = splitTasks(set.tasks, 'eval').length / set.tasks.length;
      expect(evalShare).toBeGreaterThan(0.1);
      expect(evalShare).toBeLessThan(0.45);
      // The split depends on the id alone.
      for (const t of set.tasks) expect(t.split).toBe(assignSplit(t.id));
    }
    expect(builtinTaskSet('math')?.tasks).toBe(MATH_TASKS);
    expect(builtinTaskSet('nope')).toBeUndefined();
    expect(MATH_TASKS[0].id).toBe('math-001');
    expect(assignSplit('math-001')).toBe(assignSplit('math-001'));
  });

  it('math: every problem has a finite answer its checker accepts, and rejects a wrong one', () => {
    for (const t of MATH_TASKS) {
      const answer = t.answer as number;
      expect(Number.isFinite(answer), t.id).toBe(true);
      expect(checkBuiltinTask(t, `Working...\n#### ${answer}`)!.pass, t.id).toBe(true);
      expect(checkBuiltinTask(t, `The answer is ${answer}.`)!.pass, t.id).toBe(true);
      const wrong = checkBuiltinTask(t, `#### ${answer + 1}`)!;
      expect(wrong.pass, t.id).toBe(false);
      expect(wrong.message).not.toContain(String(answer));
    }
    // Spot checks of the arithmetic itself.
    const answerOf = (id: string) => MATH_TASKS.find((t) => t.id === id)!.answer;
    expect(answerOf('math-010')).toBe(36);
    expect(answerOf('math-018')).toBe(1102.5);
    expect(answerOf('math-037')).toBe(112.2);
    expect(answerOf('math-045')).toBe(12);
    expect(answerOf('math-058')).toBe(75);
  });

  it('instruction: every rule validates, every rule type is used, an empty reply fails every task', () => {
    const used = new Set<string>();
    for (const t of INSTRUCTION_TASKS) {
      expect(t.rules!.length, t.id).toBeGreaterThan(0);
      for (const [i, r] of t.rules!.entries()) {
        expect(parseRule(JSON.parse(JSON.stringify(r)), `${t.id} rule ${i}`)).toEqual(r);
        used.add(r.type);
        expect(describeRule(r).length).toBeGreaterThan(5);
      }
      expect(checkBuiltinTask(t, '')!.pass, t.id).toBe(false);
    }
    expect([...used].sort()).toEqual([...RULE_TYPES].sort());
  });

  it('instruction: hand-written compliant replies pass their tasks', () => {
    const reply: Record<string, string> = {
      'inst-002': '- Put the phone away\n- Take short breaks\n- Study in one place\n- Set a goal for each session',
      'inst-004': 'A rainbow is light split into colours. Raindrops bend and reflect sunlight. Each colour leaves the drop at a slightly different angle.',
      'inst-005': '```json\n{"title": "The Quiet Harbour", "author": "Ana Reyes", "year": 2004}\n```',
      'inst-011': '1. Dig a hole\n2. Loosen the roots\n3. Place the tree\n4. Fill with soil\n5. Water well',
      'inst-017': '"Start slowly and build up your distance a little each week."',
      'inst-024': 'a cat is a small quiet hunter with soft fur and sharp eyes.',
      'inst-048': 'Dear Ms. Lee,\n\nCould I have two more days for my essay? I was ill this week.\n\nThank you for your time.',
    };
    for (const [id, text] of Object.entries(reply)) {
      const t = INSTRUCTION_TASKS.find((x) => x.id === id)!;
      const r = checkBuiltinTask(t, text)!;
      expect(r.failures, id).toEqual([]);
      expect(r.pass, id).toBe(true);
    }
  });

  it('open tasks have no checker', () => {
    for (const t of OPEN_TASKS) expect(checkBuiltinTask(t, 'anything')).toBeNull();
  });
});

describe('reading the final number', () => {
  const cases: [string, number | null][] = [
    ['Step 1: 3*4 = 12\nStep 2: 12+30 = 42\n#### 42', 42],
    ['So the answer is 42 apples.', 42],
    ['The final answer: $1,234.50', 1234.5],
    ['He pays $12.65 in change, after paying 20.', 20],
    ['Final answer is \\boxed{3/4}', 0.75],
    ['It takes 2 1/2 cups.', 2.5],
    ['The temperature is -7 degrees.', -7],
    ['**Answer:** 15', 15],
    ['5 - 3 = 2, so 2 remain', 2],
    ['Growth was 25%.', 25],
    ['#### 18 km/h (from 5 m/s)', 18],
    ['The answer is 1,000,000.', 1_000_000],
    ['No numbers here at all.', null],
    ['Answer: .5', 0.5],
    ['2-3 apples per child, so 12', 12],
  ];
  for (const [text, value] of cases) {
    it(JSON.stringify(text), () => {
      const got = extractFinalNumber(text);
      if (value === null) expect(got).toBeNull();
      else expect(got?.value).toBeCloseTo(value, 10);
    });
  }

  it('compares with tolerance for decimals written to two or more places', () => {
    const n = (s: string) => parseNumberText(s)!;
    expect(numbersMatch(n('0.33'), 1 / 3)).toBe(true);
    expect(numbersMatch(n('0.333'), 1 / 3)).toBe(true);
    expect(numbersMatch(n('0.3'), 1 / 3)).toBe(false);
    expect(numbersMatch(n('1/3'), 1 / 3)).toBe(true);
    expect(numbersMatch(n('12.8'), 12.75)).toBe(false);
    expect(numbersMatch(n('42.00'), 42)).toBe(true);
    expect(numbersMatch(n('42.4'), 42)).toBe(false);
    expect(numbersMatch(n('0.1'), 0.1 + 0.2 - 0.2)).toBe(true);
    expect(parseNumberText('1/0')).toBeNull();
    expect(parseNumberText('abc')).toBeNull();
  });

  it('checkMathAnswer explains a missing number', () => {
    const r = checkMathAnswer('I am not sure.', 5);
    expect(r.pass).toBe(false);
    expect(r.message).toMatch(/No final number found/);
  });
});

describe('rules', () => {
  /** [rule, a reply that follows it, a reply that breaks it, a phrase the failure mentions] */
  const RULE_CASES: [Rule, string, string, RegExp][] = [
    [{ type: 'min_words', n: 5 }, 'one two three four five', 'one two three', /3 words; it needs at least 5/],
    [{ type: 'max_words', n: 3 }, "it's well-known, really", 'one two three four', /4 words; it must have at most 3/],
    [{ type: 'min_sentences', n: 2 }, 'First one. Second one!', 'Only one here.', /1 sentence; it needs at least 2/],
    [{ type: 'max_sentences', n: 1 }, 'Pi is about 3.14 and never ends.', 'One. Two.', /2 sentences/],
    [{ type: 'include_keywords', words: ['garden', 'grateful'] }, 'I am Grateful for the garden.', 'I am grateful.', /must use "garden"/],
    [{ type: 'exclude_keywords', words: ['water'] }, 'Use a kettle; waterproof boots are fine.', 'Boil the Water.', /must not use "water"/],
    [{ type: 'keyword_count', word: 'blue', min: 2 }, 'Blue sky, blue sea.', 'A blue sky.', /appears 1 time; it must appear at least 2/],
    [{ type: 'no_commas' }, 'No commas here.', 'One, two.', /1 comma/],
    [{ type: 'json_object', keys: ['a', 'b'] }, '{"a": 1, "b": [2]}', '{"a": 1}', /lacks the keys "b"/],
    [{ type: 'json_object', keys: ['a'] }, '```json\n{"a": 1}\n```', 'Here: {"a": 1}', /not valid JSON/],
    [{ type: 'json_object', keys: ['a'] }, '{"a": null}', '[1, 2]', /must be a JSON object/],
    [{ type: 'bullet_count', n: 2 }, 'Intro\n- one\n* two', '- one\n- two\n- three', /3 bullet points; it must have exactly 2/],
    [{ type: 'numbered_count', n: 2 }, '1. a\n2) b', '1. a', /1 numbered item/],
    [{ type: 'all_lowercase' }, 'all quiet here.', 'Not quiet.', /lowercase/],
    [{ type: 'all_uppercase' }, 'LOUD NOISES!', 'LOUD noises', /capital letters/],
    [{ type: 'starts_with', phrase: 'Dear customer,' }, '  dear customer, sorry.', 'Hello, dear customer,', /must start with "Dear customer,"/],
    [{ type: 'ends_with', phrase: 'See you soon!' }, 'Thanks. See you soon!\n', 'See you soon! Bye.', /must end with "See you soon!"/],
    [{ type: 'paragraph_count', n: 2 }, 'One.\n\nTwo.', 'One.\nStill one.', /1 paragraph; it must have exactly 2/],
    [{ type: 'title' }, '<<Autumn>>\nLeaves fall.', '<< >> Leaves fall.', /title in double angle brackets/],
    [{ type: 'quoted' }, '"Run slowly."', 'Run "slowly".', /wrapped in double quotation marks/],
    [{ type: 'postscript', marker: 'P.S.' }, 'Come along!\n\nP.S. Bring a hat.', 'Come along! PS bring a hat.', /postscript starting with "P.S."/],
    [{ type: 'placeholder_count', min: 2 }, 'Dear [name], on [date].', 'Dear [name], on [ ].', /1 placeholder/],
    [{ type: 'max_chars', n: 10 }, 'Short one.', 'This is far too long.', /21 characters; it must have at most 10/],
    [{ type: 'no_digits' }, 'Three planets.', '3 planets.', /must not contain digits/],
    [{ type: 'section_count', marker: 'Section', n: 2 }, 'Section 1\nboil\n## SECTION 2\npour', 'Section 1\nboil', /1 section marked "Section N"/],
  ];

  for (const [rule, good, bad, why] of RULE_CASES) {
    it(`${rule.type}: passes a compliant reply and explains a failure`, () => {
      expect(checkRule(good, rule)).toBeNull();
      const failure = checkRule(bad, rule);
      expect(failure).toMatch(why);
    });
  }

  it('every rule type has a case above', () => {
    expect(new Set(RULE_CASES.map(([r]) => r.type))).toEqual(new Set(RULE_TYPES));
  });

  it('checkRules lists each failure and the share passed', () => {
    const r = checkRules('One, two, three, four.', [{ type: 'no_commas' }, { type: 'max_words', n: 2 }, { type: 'min_words', n: 1 }]);
    expect(r.pass).toBe(false);
    expect(r.failures).toHaveLength(2);
    expect(r.fraction).toBeCloseTo(1 / 3);
    expect(r.message).toMatch(/^2 rules of 3 broken:/);
    expect(checkRules('fine', []).pass).toBe(true);
  });

  it('parseRule refuses malformed rules with a message naming the place', () => {
    expect(() => parseRule('max_words', 'line 2')).toThrow(/line 2: a rule must be an object/);
    expect(() => parseRule({ type: 'max_word', n: 5 }, 'line 3')).toThrow(/line 3: unknown rule type "max_word"/);
    expect(() => parseRule({ type: 'max_words', n: -1 }, 'r')).toThrow(/needs "n" as a whole number/);
    expect(() => parseRule({ type: 'max_words', n: 2.5 }, 'r')).toThrow(/whole number/);
    expect(() => parseRule({ type: 'include_keywords', words: [] }, 'r')).toThrow(/non-empty list/);
    expect(() => parseRule({ type: 'ends_with', phrase: '' }, 'r')).toThrow(/non-empty string/);
    expect(() => parseRule({ type: 'no_commas', extra: 1 }, 'r')).toThrow(/unknown fields "extra"/);
  });

  it('counts words, sentences and paragraphs sensibly', () => {
    expect(countWords("Don't stop — it's well-known 3.5 km.")).toBe(6);
    expect(countSentences('Mr. Smith left. He said "Hi!" Then he waved? Yes')).toBe(4);
    expect(paragraphs('a\n\n\nb\n   \nc')).toHaveLength(3);
  });
});
