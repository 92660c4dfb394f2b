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
});
