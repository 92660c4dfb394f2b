import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticalPath, renderHtmlReport } from '../../src/report/html.js';
import { HOSTILE_URLS, hostileReportInput } from '../helpers/hostile-summary.js';
import { sampleSummary } from '../helpers/sample-summary.js';

describe('the HTML report', () => {
  const html = renderHtmlReport(sampleSummary(), { leaf: { lines: ['Setting up leaf (1.0)'], total: 400 } });

  it('draws every image that ran on the timeline, with pushes', () => {
    for (const name of ['base', 'openstack-base', 'leaf', 'broken&#60;script&#62;'])
      assert.ok(html.includes(`data-image="${name}"`), name);
    assert.match(html, /<rect [^>]*class="push pushed"/);
    assert.match(html, /up to 2 image\(s\) building at once/);
  });

  it('marks the critical path: the chain that finished last', () => {
    assert.deepEqual([...criticalPath(sampleSummary())].sort(), ['base', 'leaf', 'openstack-base']);
    assert.match(html, /data-image="leaf"[^>]*class="bar built critical"/);
    assert.doesNotMatch(html, /data-image="broken&#60;script&#62;"[^>]*critical/);
  });

  it('escapes names and log text, and is self-contained', () => {
    assert.ok(!html.includes('<script>'));
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    assert.match(html, /… 399 earlier lines in the full log\nSetting up leaf \(1\.0\)/);
    assert.match(html, /<a href="logs\/leaf\.log">full log<\/a>/);
  });

  it('says why an image failed', () => {
    assert.match(
      html,
      /<tr class="failed"><td><a href="#log-broken_script_">broken&#60;script&#62;<\/a><\/td><td>failed \(error\)<\/td><td>RUN false: exit 1<\/td>/,
    );
  });

  it('has a scan section: counts per image, the worst findings, allow-listed ones marked, held ones said', () => {
    const summary = sampleSummary();
    const counts = { UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1 };
    summary.scanned.push({ name: 'leaf', reference: 'r/leaf:t', verdict: 'critical', counts, allowed: 1, seconds: 2 });
    summary.held.push({ name: 'leaf', reference: 'r/leaf:t', verdict: 'critical' });
    const finding = { package: 'lib<x>', installed: '1.0', url: 'https://osv.dev/vulnerability/CVE-1', fixed: '1.1' };
    const scanned = renderHtmlReport(
      summary,
      {},
      {
        leaf: [
          { ...finding, id: 'CVE-1', severity: 'CRITICAL', status: 'counted' },
          { ...finding, id: 'CVE-2', severity: 'CRITICAL', status: 'allowed', fixed: '' },
        ],
      },
    );
    assert.match(
      scanned,
      /<td>critical \(held\)<\/td><td class="num">1<\/td><td class="num">1<\/td><td class="num">1<\/td>/,
    );
    assert.match(scanned, /CVE-1<\/a> lib&#60;x&#62; 1\.0, fixed in 1\.1<\/li>/);
    assert.match(scanned, /CVE-2<\/a> lib&#60;x&#62; 1\.0, no fix <span class="badge">allowed<\/span><\/li>/);
    assert.match(html, /No vulnerability scan ran in this run/);
  });
});

describe('the HTML report of a run spread over builders', () => {
  it("names each image's builder and the lost ones; a one-builder run keeps its table as it was", () => {
    const single = renderHtmlReport(sampleSummary(), {});
    assert.doesNotMatch(single, /<th>builder<\/th>/);
    const summary = sampleSummary();
    summary.builders = ['tcp://a:2375', 'tcp://b:2375'];
    summary.lost_builders = ['tcp://b:2375'];
    const leaf = summary.images.leaf;
    assert.ok(leaf);
    leaf.builder = 'tcp://a:2375';
    const spread = renderHtmlReport(summary, {});
    assert.match(spread, /<th>image<\/th><th>builder<\/th>/);
    assert.match(spread, /">leaf<\/a>(?: <span[^>]*>[^<]*<\/span>)?<\/td><td>tcp:\/\/a:2375<\/td>/);
    assert.match(spread, /builders tcp:\/\/a:2375, tcp:\/\/b:2375 · <b>lost tcp:\/\/b:2375<\/b>/);
  });
});

/** Tags and attributes the report itself writes: anything else in it came from a value. */
const OWN_TAGS = new Set(
  'html head meta title style body h1 h2 h3 div b p span i svg line text a rect table thead tbody tr th td code ul li section pre'.split(
    ' ',
  ),
);
const OWN_ATTRIBUTES = new Set(
  'lang charset class style x y x1 y1 x2 y2 width height href id data-image viewBox role aria-label title'.split(' '),
);
const ATTRIBUTE = /\s([^\s=/>]+)="([^"]*)"/g;

/** Every tag and attribute of the page is one the report writes, and every link is its own or http(s). */
function assertOnlyOwnMarkup(html: string): void {
  const body = html.replace(/^<!doctype html>/, '').replace(/<style>[^<]*<\/style>/, '<style></style>');
  const outside = body.replace(
    /<\/?([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^\s=/>]+="[^"]*")*)\s*\/?>/g,
    (tag, name: string, attributes: string) => {
      assert.ok(OWN_TAGS.has(name), `a <${name}> the report does not write: ${tag.slice(0, 120)}`);
      for (const [, attribute, value] of attributes.matchAll(ATTRIBUTE)) {
        assert.ok(OWN_ATTRIBUTES.has(attribute ?? ''), `attribute ${attribute} in ${tag.slice(0, 120)}`);
        if (attribute === 'href') assert.match(value ?? '', /^(#[\w-]+|logs\/[^:]*|scan\/[^:]*|https?:\/\/.*)$/, tag);
      }
      return '';
    },
  );
  assert.doesNotMatch(outside, /[<>]/, "every < and > outside the report's own tags is escaped");
}

describe('the HTML report of a summary someone else wrote', () => {
  for (const numbers of [false, true]) {
    it(`escapes every value in every context: text, attributes, links${numbers ? ', numbers that are not' : ''}`, () => {
      const { summary, logs, findings } = hostileReportInput({ numbers });
      const html = renderHtmlReport(summary, logs, findings);
      assertOnlyOwnMarkup(html);
      // The values are shown, as text.
      assert.match(html, /<h1>Run &#34;&#39;&#62;&#60;script&#62;document\.body\.dataset\.xss=&#39;script&#39;/);
      assert.match(html, /<pre>(… \d+ earlier lines in the full log\n)?&#34;&#39;&#62;&#60;script&#62;/, 'log lines');
      for (const url of HOSTILE_URLS) assert.ok(!html.includes(`href="${url.trim()}`), url);
    });
  }

  it('links an OSV record by its http(s) URL only', () => {
    const summary = sampleSummary();
    const counts = { UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 3 };
    summary.scanned.push({ name: 'leaf', reference: 'r/leaf:t', verdict: 'critical', counts, allowed: 0, seconds: 2 });
    const finding = { package: 'p', installed: '1', fixed: '2', severity: 'CRITICAL', status: 'counted' };
    const html = renderHtmlReport(
      summary,
      {},
      {
        leaf: [
          { ...finding, id: 'CVE-1', url: 'https://osv.dev/vulnerability/CVE-1' },
          { ...finding, id: 'CVE-2', url: 'javascript:alert(1)' },
          { ...finding, id: 'CVE-3', url: '' },
        ],
      },
    );
    assert.match(html, /<a href="https:\/\/osv\.dev\/vulnerability\/CVE-1">CVE-1<\/a>/);
    assert.match(html, /CRITICAL CVE-2 p 1, fixed in 2/, 'shown without a link');
    assert.match(html, /CRITICAL CVE-3 p 1, fixed in 2/);
  });
});
