import type { ChapterResult, Figure } from './types.js';

/** Collects what a chapter did, measured and expected; result() decides the outcome. */
export class ChapterReport {
  private readonly result_: ChapterResult = {
    outcome: 'ok',
    did: [],
    measured: [],
    figures: {},
    problems: [],
  };

  /** Notes something the chapter did. */
  did(line: string): this {
    this.result_.did.push(line);
    return this;
  }

  /** Notes something it measured, optionally keeping the value as a figure. */
  measured(line: string, figure?: { name: string; value: Figure }): this {
    this.result_.measured.push(line);
    if (figure) this.result_.figures[figure.name] = figure.value;
    return this;
  }

  /** Keeps a figure without printing it. */
  figure(name: string, value: Figure): this {
    this.result_.figures[name] = value;
    return this;
  }

  /** Records a problem unless the condition holds; returns the condition. */
  expect(condition: boolean, problem: string): boolean {
    if (!condition) this.result_.problems.push(problem);
    return condition;
  }

  /** The result: 'ok' when no expectation failed. */
  result(): ChapterResult {
    return { ...this.result_, outcome: this.result_.problems.length === 0 ? 'ok' : 'failed' };
  }
}
