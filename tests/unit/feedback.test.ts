import { describe, expect, it } from 'vitest';
import { classifyVerdict, parseFeedback, parseScoreText } from '../../src/core/refine/feedback-parse.ts';
import { findJsonObjects, parseLenientJson } from '../../src/core/refine/lenient-json.ts';

type Expect = {
  status: 'ok' | 'partial' | 'unparsed';
  score?: number | null;
  verdict?: 'correct' | 'incorrect' | 'unknown';
  noIssues?: boolean;
  weaknesses?: string[];
  suggestions?: string[];
};

/** Real-looking critiques in the shapes small models write. */
const CASES: [name: string, text: string, expected: Expect][] = [
  [
    'the requested format',
    'Weaknesses:\n- The total is wrong: 3*6 is 18, not 16.\nSuggestions:\n- Recompute 3*6 and add again.\nScore: 4/10\nVerdict: incorrect',
    { status: 'ok', score: 4, verdict: 'incorrect', noIssues: false, weaknesses: ['The total is wrong: 3*6 is 18, not 16.'], suggestions: ['Recompute 3*6 and add again.'] },
  ],
  [
    'fenced JSON with trailing commas and single quotes',
    "Here is my review:\n```json\n{\n  \"weaknesses\": [\"misses the unit\",],\n  'suggestions': ['add \"km\" after the number'],\n  \"score\": 6,\n  \"verdict\": \"incorrect\",\n}\n```\nHope this helps!",
    { status: 'ok', score: 6, verdict: 'incorrect', weaknesses: ['misses the unit'], suggestions: ['add "km" after the number'] },
  ],
  [
    'bare JSON with unquoted keys, Python booleans and a comment',
    "{weaknesses: [], suggestions: [], score: 9, // nearly perfect\n no_issues: True, verdict: 'correct'}",
    { status: 'ok', score: 9, verdict: 'correct', noIssues: true, weaknesses: [] },
  ],
  [
    'JSON cut off by the token limit',
    '{"weaknesses": ["the final step adds instead of subtracting", "no units"], "suggestions": ["subtract 12"], "score": 3, "verd',
    { status: 'partial', score: 3, verdict: 'unknown', weaknesses: ['the final step adds instead of subtracting', 'no units'], suggestions: ['subtract 12'] },
  ],
  [
    'nested JSON with other key names',
    '{"feedback": {"issues": ["too long"], "improvements": ["cut the second paragraph"], "rating": "85/100", "is_correct": false}}',
    { status: 'ok', score: 8.5, verdict: 'incorrect', weaknesses: ['too long'], suggestions: ['cut the second paragraph'] },
  ],
  [
    'camelCase JSON keys and a boolean verdict',
    '{"mainIssues": "The answer ignores the discount.", "howToFix": "Apply 25% off first.", "overallScore": "3 out of 10", "correct": false}',
    { status: 'ok', score: 3, verdict: 'incorrect', weaknesses: ['The answer ignores the discount.'], suggestions: ['Apply 25% off first.'] },
  ],
  ['just NO ISSUES', 'NO ISSUES', { status: 'ok', score: null, verdict: 'correct', noIssues: true }],
  ['no issues in a sentence', 'I checked every step and found no issues. The answer is correct.', { status: 'ok', verdict: 'correct', noIssues: true }],
  ['looks correct + "out of 10"', 'The answer looks correct. I would give it 9 out of 10.', { status: 'ok', score: 9, verdict: 'correct', noIssues: true }],
  [
    'Markdown bold labels, weaknesses none',
    '**Score:** 8/10\n**Verdict:** Correct\n\n**Weaknesses:** None',
    { status: 'ok', score: 8, verdict: 'correct', noIssues: true, weaknesses: [] },
  ],
  [
    'Markdown headings and numbered lists',
    '### Weaknesses\n1. Too long\n2. Uses commas\n\n### Suggestions\n* Cut to 50 words\n* Replace commas with periods\n\n### Score\n5\n\n### Verdict\nNeeds improvement',
    { status: 'ok', score: 5, verdict: 'incorrect', weaknesses: ['Too long', 'Uses commas'], suggestions: ['Cut to 50 words', 'Replace commas with periods'] },
  ],
  [
    'bold section names without colons, dash separator',
    '**Issues**\n- The JSON lacks the "year" key\n\n**Fixes**\n- Add "year": 1999\n\nRating - 4/10\nVerdict - wrong',
    { status: 'ok', score: 4, verdict: 'incorrect', weaknesses: ['The JSON lacks the "year" key'], suggestions: ['Add "year": 1999'] },
  ],
  ['a scale in the label is not the score', 'Score (1-10): 7\nVerdict: correct', { status: 'ok', score: 7, verdict: 'correct' }],
  ['an echoed template verdict is unknown', 'Score: 6/10\nVerdict: <correct | incorrect>', { status: 'partial', score: 6, verdict: 'unknown' }],
  ['an echoed template slot is not a score', 'Weaknesses:\n- none\nScore: <1-10>/10\nVerdict: correct or incorrect', { status: 'ok', score: null, verdict: 'correct', noIssues: true }],
  ['prose with a mixed verdict counts as incorrect', 'The reasoning is correct but the final answer is wrong. Rating: 5.', { status: 'ok', score: 5, verdict: 'incorrect', noIssues: false }],
  ['a percentage score', 'Overall I rate it 70%. The response is not accurate in the last line.', { status: 'ok', score: 7, verdict: 'incorrect' }],
  ['"no issues" contradicted by a weakness', 'No issues with the grammar.\nWeaknesses:\n- The sum is off by one.\nScore: 6/10', { status: 'partial', score: 6, noIssues: false, weaknesses: ['The sum is off by one.'] }],
  ['partially correct is incorrect', 'Verdict: partially correct\nScore: 5/10', { status: 'ok', verdict: 'incorrect', score: 5 }],
  ['yes/no verdicts', 'Correct: yes\nScore: 10/10', { status: 'ok', verdict: 'correct', score: 10 }],
  ['weaknesses only', 'Problems:\n- It never says which planet is largest.\n- Two sentences instead of three.', { status: 'partial', score: null, verdict: 'unknown', weaknesses: ['It never says which planet is largest.', 'Two sentences instead of three.'] }],
  ['scores above the scale are not read', 'Score: 85', { status: 'unparsed' }],
  ['chatter', 'hmm, well, I like turtles', { status: 'unparsed' }],
  ['empty', '', { status: 'unparsed' }],
  ['only whitespace and punctuation', '  ...  \n\n --- \n', { status: 'unparsed' }],
  ['an unrelated JSON object', '{"name": "Bob", "age": 41}', { status: 'unparsed' }],
  [
    'multi-line bullet items and an unrelated heading',
    '## Analysis\nThe draft is fine overall.\n\n## Weaknesses\n- The conclusion repeats the intro\n  and adds nothing new.\n- Missing an example.\n\n## Score\n6 out of 10',
    { status: 'partial', score: 6, weaknesses: ['The conclusion repeats the intro', 'and adds nothing new.', 'Missing an example.'] },
  ],
  ['LGTM', 'LGTM! 10/10', { status: 'ok', score: 10, verdict: 'correct', noIssues: true }],
  ['score 0 is clamped to 1', 'Score: 0/10\nVerdict: incorrect', { status: 'ok', score: 1, verdict: 'incorrect' }],
];

describe('parseFeedback', () => {
  for (const [name, text, e] of CASES) {
    it(name, () => {
      const r = parseFeedback(text);
      expect(r.parseStatus).toBe(e.status);
      if (e.status === 'unparsed') {
        expect(r.feedback).toBeNull();
        return;
      }
      const f = r.feedback!;
      if ('score' in e) expect(f.score).toBe(e.score);
      if (e.verdict) expect(f.verdict).toBe(e.verdict);
      if (e.noIssues !== undefined) expect(f.noIssues).toBe(e.noIssues);
      if (e.weaknesses) expect(f.weaknesses).toEqual(e.weaknesses);
      if (e.suggestions) expect(f.suggestions).toEqual(e.suggestions);
    });
  }

  it('never throws on hostile input', () => {
    const nasty = ['{'.repeat(500), '[[[[', '{"a": "\\u12', '```json\n', 'Score: 9999999999/1', '\u0000\u0001', 'x'.repeat(20000), '{"score": {"score": {"score": 5}}}'];
    for (const t of nasty) expect(() => parseFeedback(t)).not.toThrow();
  });
});

describe('pieces of the parser', () => {
  it('reads scores in their many spellings', () => {
    expect(parseScoreText('7/10')).toBe(7);
    expect(parseScoreText('7 out of 10')).toBe(7);
    expect(parseScoreText('**8.5**')).toBe(8.5);
    expect(parseScoreText('4/5')).toBe(8);
    expect(parseScoreText('72/100')).toBe(7.2);
    expect(parseScoreText('90%')).toBe(9);
    expect(parseScoreText('11/10')).toBeNull();
    expect(parseScoreText('N/A')).toBeNull();
    expect(parseScoreText('42')).toBeNull();
  });

  it('classifies verdict words, negations and echoes', () => {
    expect(classifyVerdict('Correct.')).toBe('correct');
    expect(classifyVerdict('INCORRECT')).toBe('incorrect');
    expect(classifyVerdict('not correct')).toBe('incorrect');
    expect(classifyVerdict("isn't right")).toBe('incorrect');
    expect(classifyVerdict('needs work')).toBe('incorrect');
    expect(classifyVerdict('mostly correct')).toBe('incorrect');
    expect(classifyVerdict('correct/incorrect')).toBe('unknown');
    expect(classifyVerdict('good start but wrong total')).toBe('incorrect');
    expect(classifyVerdict('no')).toBe('incorrect');
    expect(classifyVerdict('banana')).toBe('unknown');
  });

  it('lenient JSON reads what models write and reports truncation', () => {
    expect(parseLenientJson("{'a': 1, b: [1, 2,], 'c': None}").value).toEqual({ a: 1, b: [1, 2], c: null });
    expect(parseLenientJson('{"say": "he said "hi" twice", "n": 2}').value).toEqual({ say: 'he said "hi" twice', n: 2 });
    const cut = parseLenientJson('{"a": [1, 2');
    expect(cut.complete).toBe(false);
    expect(cut.value).toEqual({ a: [1, 2] });
    expect(findJsonObjects('text {"x": 1} more {"y": 2}').map((p) => p.value)).toEqual([{ x: 1 }, { y: 2 }]);
    expect(findJsonObjects('no json here')).toEqual([]);
  });
});
