import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { movedPackages, type InstalledVersion } from '../../src/respin/apt-policy.js';
import { parsePreferences } from '../../src/respin/apt-preferences.js';
import { readSnapshotIndexes } from '../../src/respin/snapshot-indexes.js';
import {
  aptCandidates,
  ARCHITECTURE,
  hostApt,
  writeDebRepo,
  type DebPackage,
  type DebSuite,
} from '../helpers/deb-repo.js';
import { temporaryDir } from '../helpers/files.js';
import { startStandInMirror, type StandInMirror } from '../helpers/stand-in-mirror.js';

interface Scenario {
  title: string;
  suites: DebSuite[];
  status: DebPackage[];
  preferences?: string;
  /** `name from→to` of every package that moves, in status order. */
  moved: string[];
}

const deb = (name: string, version: string, architecture = ARCHITECTURE, source?: string): DebPackage => ({
  name,
  version,
  architecture,
  ...(source === undefined ? {} : { source }),
});

/** An experimental-like suite: apt gives its versions priority 1, so nothing comes from it unless pinned. */
const experimental = (packages: DebPackage[], extra: Partial<DebSuite> = {}): DebSuite => ({
  suite: 'experimental',
  codename: 'rc-buggy',
  origin: 'Exp',
  label: 'ExpLabel',
  version: '13.1',
  notAutomatic: true,
  packages,
  ...extra,
});

const scenarios: Scenario[] = [
  {
    title: 'the newest version wins at equal priority, across suites',
    suites: [
      { suite: 'bookworm', packages: [deb('foo', '1.1'), deb('foo', '1.2~rc1'), deb('bar', '2.0')] },
      { suite: 'bookworm-updates', packages: [deb('foo', '1.2')] },
    ],
    status: [deb('foo', '1.0'), deb('bar', '2.0')],
    moved: ['foo 1.0→1.2'],
  },
  {
    title: 'a pin of 1000 or more downgrades',
    suites: [{ suite: 'bookworm', packages: [deb('foo', '0.9'), deb('foo', '1.1')] }],
    status: [deb('foo', '1.0')],
    preferences: 'Package: foo\nPin: version 0.9\nPin-Priority: 1001\n',
    moved: ['foo 1.0→0.9'],
  },
  {
    title: 'a pin under 1000 never downgrades: the newer version stays the candidate',
    suites: [{ suite: 'bookworm', packages: [deb('foo', '0.9'), deb('foo', '1.1')] }],
    status: [deb('foo', '1.0')],
    preferences: 'Package: foo\nPin: version 0.9\nPin-Priority: 999\n',
    moved: ['foo 1.0→1.1'],
  },
  {
    title: 'a negative priority is never a candidate, nor is a never pin',
    suites: [
      { suite: 'bookworm', packages: [deb('foo', '1.1'), deb('bar', '2.1')] },
      { suite: 'bookworm-updates', packages: [deb('foo', '1.2'), deb('bar', '2.2')] },
      { suite: 'bookworm-security', codename: 'bookworm-security', packages: [deb('foo', '1.3')] },
    ],
    status: [deb('foo', '1.0'), deb('bar', '2.0')],
    preferences: [
      'Package: *\nPin: release a=bookworm-updates\nPin-Priority: -1\n',
      'Package: *\nPin: release n=bookworm-security\nPin-Priority: never\n',
    ].join('\n'),
    moved: ['foo 1.0→1.1', 'bar 2.0→2.1'],
  },
  {
    title: 'the installed version (100) outranks a NotAutomatic suite (1), not a newer ButAutomaticUpgrades one (100)',
    suites: [
      // bar 1.0 is installed from backports: only the status file offers it.
      { suite: 'bookworm', packages: [deb('foo', '1.0'), deb('baz', '1.0')] },
      experimental([deb('foo', '2.0')]),
      {
        suite: 'bookworm-backports',
        notAutomatic: true,
        butAutomaticUpgrades: true,
        packages: [deb('bar', '1.5'), deb('baz', '1.5')],
      },
    ],
    status: [deb('foo', '1.0'), deb('bar', '1.0'), deb('baz', '1.0')],
    // baz 1.0 is in bookworm too: 500 there outranks backports' 100.
    moved: ['bar 1.0→1.5'],
  },
  {
    title: 'a package the new snapshot does not hold is not moved',
    suites: [{ suite: 'bookworm', packages: [deb('foo', '1.1')] }],
    status: [deb('foo', '1.0'), deb('local-only', '3.0')],
    moved: ['foo 1.0→1.1'],
  },
  {
    title: 'Architecture: all is the native architecture, also when a package changes between them',
    suites: [{ suite: 'bookworm', packages: [deb('data', '1.1', 'all'), deb('tool', '2.1', ARCHITECTURE)] }],
    status: [deb('data', '1.0', 'all'), deb('tool', '2.0', 'all')],
    moved: ['data 1.0→1.1', 'tool 2.0→2.1'],
  },
  {
    title: 'release pins by o=, l=, a=, n=, v= (with *), c= and a bare word raise a NotAutomatic suite',
    suites: [
      {
        suite: 'bookworm',
        packages: ['by-o', 'by-l', 'by-a', 'by-n', 'by-v', 'by-c', 'by-word', 'none', 'wrong-c'].map((name) =>
          deb(name, '1.0'),
        ),
      },
      experimental(
        ['by-o', 'by-l', 'by-a', 'by-n', 'by-v', 'by-c', 'by-word', 'none', 'wrong-c'].map((name) => deb(name, '2.0')),
      ),
    ],
    status: ['by-o', 'by-l', 'by-a', 'by-n', 'by-v', 'by-c', 'by-word', 'none', 'wrong-c'].map((name) =>
      deb(name, '1.0'),
    ),
    preferences: [
      'Package: by-o\nPin: release o=Exp\nPin-Priority: 500\n',
      'Package: by-l\nPin: release l=ExpLabel\nPin-Priority: 500\n',
      'Package: by-a\nPin: release a=experimental\nPin-Priority: 500\n',
      'Package: by-n\nPin: release n=rc-buggy\nPin-Priority: 500\n',
      'Package: by-v\nPin: release v=13*\nPin-Priority: 500\n',
      'Package: by-c\nPin: release a=experimental, c=main\nPin-Priority: 500\n',
      'Package: by-word\nPin: release rc-buggy\nPin-Priority: 500\n',
      'Package: wrong-c\nPin: release a=experimental, c=contrib\nPin-Priority: 500\n',
    ].join('\n'),
    moved: [
      'by-o 1.0→2.0',
      'by-l 1.0→2.0',
      'by-a 1.0→2.0',
      'by-n 1.0→2.0',
      'by-v 1.0→2.0',
      'by-c 1.0→2.0',
      'by-word 1.0→2.0',
    ],
  },
  {
    title: 'an origin pin names the host the suite comes from',
    suites: [{ suite: 'bookworm', packages: [deb('held', '1.1'), deb('free', '1.1')] }],
    status: [deb('held', '1.0'), deb('free', '1.0')],
    preferences: [
      'Package: held\nPin: origin "127.0.0.1"\nPin-Priority: -10\n',
      'Package: free\nPin: origin elsewhere.example\nPin-Priority: -10\n',
    ].join('\n'),
    moved: ['free 1.0→1.1'],
  },
  {
    title: 'package globs, /regex/ and src: name the packages a pin holds; the first pin of a version rules',
    suites: [
      {
        suite: 'bookworm',
        packages: [
          deb('libfoo1', '1.1'),
          deb('libbar1', '1.1'),
          deb('foooo', '1.1'),
          deb('bin-of-src', '1.1', ARCHITECTURE, 'the-src'),
          deb('twice', '1.1'),
        ],
      },
    ],
    status: [
      deb('libfoo1', '1.0'),
      deb('libbar1', '1.0'),
      deb('foooo', '1.0'),
      deb('bin-of-src', '1.0', ARCHITECTURE, 'the-src'),
      deb('twice', '1.0'),
    ],
    preferences: [
      '# held back for now',
      'Package: libf*',
      'Pin: version 1.1',
      'Pin-Priority: -1',
      '',
      'Explanation: a regular expression',
      'Package: /^fo+$/',
      'Pin: version 1.*',
      'Pin-Priority: -1',
      '',
      'Package: src:the-src',
      'Pin: version 1.1',
      'Pin-Priority: -1',
      '',
      'Package: twice',
      'Pin: version 1.1',
      'Pin-Priority: -1',
      '',
      'Package: twice',
      'Pin: version 1.1',
      'Pin-Priority: 990',
      '',
    ].join('\n'),
    moved: ['libbar1 1.0→1.1'],
  },
];

const describeMoves = (moves: ReadonlyArray<{ name: string; from: string; to: string }>) =>
  moves.map((move) => `${move.name} ${move.from}→${move.to}`);

describe("the respin's candidate versions, as apt 2.6 chooses them", () => {
  const mirrors: StandInMirror[] = [];
  after(async () => {
    for (const mirror of mirrors) await mirror.stop();
  });
  let signal: AbortSignal;
  before(() => {
    signal = new AbortController().signal;
  });

  for (const scenario of scenarios) {
    it(scenario.title, async () => {
      const mirror = await startStandInMirror(
        writeDebRepo(join(temporaryDir('ci-builder-repo-'), 'repo'), scenario.suites),
      );
      mirrors.push(mirror);
      const wanted = new Set(scenario.status.map((pkg) => pkg.name));
      const indexes = await readSnapshotIndexes(
        [{ url: `${mirror.origin}/`, suites: scenario.suites.map((suite) => suite.suite), components: ['main'] }],
        ARCHITECTURE,
        wanted,
        signal,
      );
      const installed: InstalledVersion[] = scenario.status.map((pkg) => ({ ...pkg, source: pkg.source ?? pkg.name }));
      const moved = movedPackages({
        nativeArchitecture: ARCHITECTURE,
        installed,
        available: indexes.versions,
        pins: parsePreferences(scenario.preferences ?? '', '/etc/apt/preferences'),
      });
      assert.deepEqual(describeMoves(moved), scenario.moved);

      if (!hostApt) return;
      const candidates = await aptCandidates({
        mirror: mirror.origin,
        suites: scenario.suites,
        status: scenario.status,
        preferences: scenario.preferences ?? '',
      });
      const aptMoves = scenario.status.flatMap((pkg) => {
        const candidate = candidates.get(pkg.name);
        return candidate === undefined || candidate === '(none)' || candidate === pkg.version
          ? []
          : [{ name: pkg.name, from: pkg.version, to: candidate }];
      });
      assert.deepEqual(describeMoves(aptMoves), scenario.moved, "the host's apt decides otherwise");
    });
  }
});
