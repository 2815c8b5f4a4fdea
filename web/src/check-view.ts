import type { CheckReport, Section } from '../../src/server/api-types.js';
import { badge, h, replaceChildren } from './dom.js';
import { clock } from './format.js';

/** The check-report view: load a `pgpact check --format json` report (file or paste) and read its findings. */
export class CheckView {
  readonly root = h('div', { class: 'check-view' });
  private readonly summary = h('div', { class: 'check-summary', 'aria-live': 'polite' });
  private readonly message = h('p', { class: 'form-message', role: 'status' });
  private readonly file = h('input', {
    id: 'report-file',
    type: 'file',
    accept: 'application/json,.json',
  });
  private readonly text = h('textarea', {
    id: 'report-text',
    rows: 6,
    spellcheck: 'false',
    placeholder: '{"breaking": true, "findings": [...]}',
  });

  constructor(private readonly onShowTable: (object: string) => void) {
    this.file.addEventListener('change', async () => {
      const f = this.file.files?.[0];
      if (f) await this.send(await f.text(), f.name);
      this.file.value = '';
    });
    const form = h(
      'form',
      { class: 'card report-form', 'aria-label': 'Load a check report' },
      h('h3', null, 'Load a check report'),
      h(
        'p',
        { class: 'muted small' },
        'The output of ',
        h('code', null, 'pgpact check --format json'),
        '. Breaking findings are drawn on the map.',
      ),
      h('label', { for: 'report-file', class: 'field-label' }, 'Report file (JSON)'),
      this.file,
      h('label', { for: 'report-text', class: 'field-label' }, 'Or paste the report'),
      this.text,
      h(
        'div',
        { class: 'form-actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Load pasted report'),
        h('button', { type: 'button', onclick: () => this.clear() }, 'Clear report'),
      ),
      this.message,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send(this.text.value, 'paste');
    });
    this.root.append(form, this.summary);
  }

  private async send(text: string, source: string): Promise<void> {
    this.message.textContent = 'Loading…';
    const response = await fetch(`/api/check-report?source=${encodeURIComponent(source)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: text,
      credentials: 'same-origin',
    });
    const body = (await response.json().catch(() => ({}))) as {
      message?: string;
      problems?: string[];
    };
    this.message.className = `form-message ${response.ok ? 'text-ok' : 'text-danger'}`;
    this.message.textContent = response.ok
      ? `Loaded ${source}.`
      : `Not loaded: ${body.message ?? response.statusText}${body.problems?.length ? ` — ${body.problems.slice(0, 5).join('; ')}` : ''}`;
  }

  private async clear(): Promise<void> {
    await fetch('/api/check-report', { method: 'DELETE', credentials: 'same-origin' });
    this.message.className = 'form-message';
    this.message.textContent = 'Report cleared.';
  }

  update(section: Section<CheckReport | null>): void {
    if (!section.available) {
      replaceChildren(this.summary, h('p', { class: 'unavailable' }, section.reason));
      return;
    }
    const report = section.data;
    if (!report) {
      replaceChildren(this.summary, h('p', { class: 'muted' }, 'No report loaded.'));
      return;
    }
    const count = (sev: string) => report.findings.filter((f) => f.severity === sev).length;
    replaceChildren(
      this.summary,
      h(
        'div',
        { class: `card verdict ${report.breaking ? 'verdict-breaking' : 'verdict-ok'}` },
        h(
          'strong',
          null,
          report.breaking ? 'Breaking: this change breaks consumers' : 'Not breaking',
        ),
        h(
          'span',
          { class: 'muted' },
          ` · ${count('breaking')} breaking, ${count('warning')} warnings, ${count('info')} info · ${report.source}, loaded ${clock(report.loadedAt)}`,
        ),
      ),
      h(
        'table',
        { class: 'data-table findings-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Severity', 'Object', 'Consumers', 'Finding'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          report.findings.map((f) =>
            h(
              'tr',
              { class: `finding-row finding-${f.severity}` },
              h(
                'td',
                null,
                badge(
                  f.severity,
                  f.severity === 'breaking' ? 'danger' : f.severity === 'warning' ? 'warn' : 'info',
                ),
                h('div', { class: 'muted small' }, f.kind),
              ),
              h(
                'td',
                null,
                h(
                  'button',
                  { type: 'button', class: 'link', onclick: () => this.onShowTable(f.object) },
                  f.object,
                ),
              ),
              h(
                'td',
                null,
                f.consumers.map((c) =>
                  h(
                    'div',
                    null,
                    h('strong', null, c.service),
                    h('span', { class: 'muted' }, ` ${c.source}`),
                  ),
                ),
              ),
              h(
                'td',
                null,
                f.message,
                f.suggestion
                  ? h('div', { class: 'finding-suggestion' }, `Suggestion: ${f.suggestion}`)
                  : null,
                f.location ? h('div', { class: 'muted small' }, f.location) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
}
