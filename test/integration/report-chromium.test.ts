import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { renderHtmlReport } from '../../src/report/html.js';
import { chromiumDumpDom, chromiumScreenshot, distinctColours } from '../helpers/chromium.js';
import { temporaryDir } from '../helpers/files.js';
import { hostileReportInput } from '../helpers/hostile-summary.js';
import { sampleSummary } from '../helpers/sample-summary.js';

describe('report.html in headless Chromium', { timeout: 3 * 60_000 }, () => {
  it('renders offline with every image on the timeline, and its screenshot is not blank', () => {
    const dir = temporaryDir();
    const summary = sampleSummary();
    writeFileSync(
      join(dir, 'report.html'),
      renderHtmlReport(summary, { leaf: { lines: ['Setting up leaf (1.0)'], total: 1 } }),
    );
    const url = pathToFileURL(join(dir, 'report.html')).href;

    const dom = chromiumDumpDom(url);
    for (const name of Object.keys(summary.images)) {
      const escaped = name.replace(
        /[<>&"]/g,
        (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char,
      );
      assert.ok(dom.includes(`data-image="${escaped}"`), `timeline bar for ${name}`);
    }
    assert.match(dom, /<h1>Run zed-debian-bookworm-20261125T100000<\/h1>/);

    const screenshot = chromiumScreenshot(url);
    const colours = distinctColours(screenshot);
    writeFileSync(join(dir, 'blank.html'), '<!doctype html><html><body></body></html>');
    const blank = distinctColours(chromiumScreenshot(pathToFileURL(join(dir, 'blank.html')).href));
    assert.ok(blank <= 2, `a blank page has one colour (got ${blank}), so the check below can fail`);
    assert.ok(colours > 50, `the report screenshot has ${colours} colours`);
  });

  it('runs no script from a hostile summary: every payload stays text, no link is javascript:', () => {
    const dir = temporaryDir();
    for (const numbers of [false, true]) {
      const { summary, logs, findings } = hostileReportInput({ numbers });
      const file = join(dir, `hostile-${numbers}.html`);
      writeFileSync(file, renderHtmlReport(summary, logs, findings));
      const dom = chromiumDumpDom(pathToFileURL(file).href);
      assert.match(dom, /<h1>Run "'&gt;&lt;script&gt;/, 'the page rendered, the payload as text');
      // Each payload that ran would have marked the body: data-xss="script", "img", "svg".
      assert.doesNotMatch(dom, /<body[^>]*data-xss/);
      assert.doesNotMatch(dom, /href="\s*(javascript|data|vbscript):/i);
    }
  });
});
