import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticalPath, renderHtmlReport } from '../../src/report/html.js';
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

  it('marks an image that passed only on a retry flaky, with its attempts, and counts the flaky ones', () => {
    const summary = sampleSummary();
    assert.doesNotMatch(html, /class="badge flaky"|<\/b>flaky</, 'a run without a retry shows none');
    const leaf = summary.images.leaf;
    assert.ok(leaf);
    Object.assign(leaf, { attempts: 3, flaky: true });
    summary.flaky.push({ name: 'leaf', attempts: 3 });
    const flaky = renderHtmlReport(summary, {});
    assert.match(flaky, /<td>built <span class="badge flaky"[^>]*>flaky: 3 attempts<\/span><\/td>/);
    assert.match(flaky, /<div class="count"><b>1<\/b>flaky<\/div>/);
    assert.match(flaky, /<title>leaf: built, flaky \(3 attempts\)/);
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
