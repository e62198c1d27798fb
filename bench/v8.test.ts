import { describe, expect, it } from '@jest/globals';
import { parseTraceLine, parseV8Args, STEADY_FROM_SECONDS, summarize } from './v8.js';

// Lines as Node 20's V8 prints them with --trace-opt and --trace-deopt.
const COMPILE =
  '[compiling method 0x24bd32db99c1 <JSFunction prefinish (sfi = 0x350424c099a9)> (target TURBOFAN), mode: ConcurrencyMode::kConcurrent]';
const COMPILE_ANONYMOUS =
  '[compiling method 0x377fc78da7d1 <JSFunction (sfi = 0xc23f9d4fc09)> (target TURBOFAN), mode: ConcurrencyMode::kConcurrent]';
const DEOPT =
  '[bailout (kind: deopt-eager, reason: Insufficient type feedback for call): begin. deoptimizing 0x2cdc3eef0b69 <JSFunction (sfi = 0x2cdc3eeec2f1)>, 0x2cdc3eef11d9 <Code TURBOFAN>, opt id 0, bytecode offset 55, deopt exit 3, FP to SP delta 96, caller SP 0x7ffc620a3d40, pc 0x7ffa28005a6a]';

describe('parseTraceLine', () => {
  it('reads the function and its shared function info from a TurboFan compile', () => {
    expect(parseTraceLine(COMPILE)).toEqual({ kind: 'compile', fn: 'prefinish', sfi: '0x350424c099a9' });
    expect(parseTraceLine(COMPILE_ANONYMOUS)).toEqual({ kind: 'compile', fn: '(anonymous)', sfi: '0xc23f9d4fc09' });
  });

  it('reads the reason and the function of a deopt, and ignores other output', () => {
    expect(parseTraceLine(DEOPT)).toEqual({
      kind: 'deopt',
      fn: '(anonymous)',
      reason: 'Insufficient type feedback for call',
    });
    expect(parseTraceLine('orderflow dev: order API on http://127.0.0.1:3000')).toBeUndefined();
  });
});

describe('summarize', () => {
  it('counts only the steady part, tells recompiles of one function from distinct ones, and CPU per order', () => {
    // Prepare: a compile before the steady part, the same function compiled twice in it, one other, one deopt.
    const at = (s: number, line: string) => ({
      at: s,
      event: parseTraceLine(line) as NonNullable<ReturnType<typeof parseTraceLine>>,
    });
    const events = [
      at(STEADY_FROM_SECONDS - 1, COMPILE_ANONYMOUS),
      at(STEADY_FROM_SECONDS + 1, COMPILE),
      at(STEADY_FROM_SECONDS + 5, COMPILE),
      at(STEADY_FROM_SECONDS + 9, COMPILE_ANONYMOUS),
      at(STEADY_FROM_SECONDS + 12, DEOPT),
    ];

    // Act
    const summary = summarize([], events, 20, 10, 25);

    // Assess
    expect(summary).toMatchObject({
      flags: '(V8 defaults)',
      compiles: 3,
      compilesPer10s: 1.5,
      distinctCompiled: 2,
      deoptsPer10s: 0.5,
      topDeopts: ['Insufficient type feedback for call in (anonymous) ×1'],
      cpuCores: 0.5,
      cpuMsPerOrder: 20,
    });
  });
});

describe('parseV8Args', () => {
  it('defaults to V8 defaults against no TurboFan, and splits variants on semicolons', () => {
    expect(parseV8Args(['--v8'])).toEqual({ rate: 20, durationSeconds: 120, variants: [[], ['--max-opt=1']] });
    expect(parseV8Args(['--v8', '--rate', '10', '--variants', ';--maglev;--no-flush-bytecode --max-lazy'])).toEqual({
      rate: 10,
      durationSeconds: 120,
      variants: [[], ['--maglev'], ['--no-flush-bytecode', '--max-lazy']],
    });
  });

  it('refuses a run too short to have a steady part', () => {
    expect(() => parseV8Args(['--duration', '30'])).toThrow(/--duration must be 80 to 1800 s/);
  });
});
