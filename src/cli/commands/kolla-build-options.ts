import type { Command, OptionValues } from '@commander-js/extra-typings';
import { collectRepeated, parseCount, parsePositiveInteger } from '../options.js';

/** kolla-build's own valued options, as kolla-build names and explains them (its on/off pairs: kolla-build-booleans). */
export function withKollaBuildOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  command: Command<Args, Opts, Globals>,
) {
  return command
    .option('--kolla-dir <dir>', 'the Kolla checkout to build from (config kolla.dir); required')
    .option('--config-file <file>', 'a kolla-build.conf; repeatable', collectRepeated)
    .option('--config-dir <dir>', 'a folder whose *.conf files are read after --config-file')
    .option('-b, --base <distro>', 'the base distro')
    .option('--base-tag <tag>', "the base distro image's tag")
    .option('--base-image <image>', 'the base distro image')
    .option('--base-arch <arch>', "the images' architecture (only this host's)")
    .option('--debian-arch <arch>', "Debian's name of that architecture (only this host's)")
    .option('-n, --namespace <namespace>', 'the image namespace')
    .option('--registry <registry>', 'the registry host images are named under and pushed to')
    .option('--tag <tag>', 'the tag of every image')
    .option('--image-name-prefix <prefix>', 'a prefix to every image name')
    .option('-T, --threads <n>', 'images built at once', parsePositiveInteger)
    .option('--push-threads <n>', 'pushes at once', parsePositiveInteger)
    .option('-r, --retries <n>', 'extra build attempts for a failed image', parseCount)
    .option('-p, --profile <name>', 'a profile of images, used when no regex is given; repeatable', collectRepeated)
    .option('--work-dir <dir>', 'where --template-only writes (default: a new temporary folder)')
    .option('--template-override <file>', 'a template override; repeatable', collectRepeated)
    .option('-D, --docker-dir <dir>', 'a further tree of image templates; repeatable', collectRepeated)
    .option('--repos-yaml <file>', "the repos.yaml templates' repository macros read")
    .option('--patches-path <dir>', 'the folder of patches applied to sources (releases that have it)')
    .option('--save-dependency <file>', 'write the selected images and their parents as a Graphviz file and exit')
    .option('-f, --format <format>', 'json (default): the build summary as JSON, on stdout or in the file; none')
    .option('--summary-json-file <file>', 'with --format json, write the summary (indented) here, not on stdout')
    .option('--logs-dir <dir>', "copy every image's build log to <dir>/<image>.log")
    .option('--engine <engine>', 'docker or podman (or buildah)')
    .option('--podman-base-url <url>', "podman's API service, with --engine podman")
    .option('--platform <platform>', "the platform to build for (only this host's)")
    .option('--timeout <seconds>', 'how long a source download may send nothing', parsePositiveInteger)
    .option('--openstack-release <release>', 'the OpenStack release templates are told')
    .option('--openstack-release-codename <name>', 'its codename (releases that have it)')
    .option('--openstack-branch <branch>', 'the branch sources are taken from')
    .option('--openstack-branch-slashed <branch>', 'the same, slashed')
    .option('--tarballs-base <url>', 'where the default source table downloads from')
    .option('--locals-base <dir>', 'accepted, as kolla-build (it has no effect there either)')
    .option('--network_mode <mode>', 'only host: builds use the host network')
    .option('--build-args <args>', 'refused: templates take values from the configuration');
}
