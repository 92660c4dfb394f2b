/**
 * Template overrides as kolla-build and Kayobe make them: override files merged into one
 * (the first keeps its `{% extends parent_template %}`, later ones lose theirs), and the
 * config's `build.blocks` and `build.customizations` written as Kayobe writes its
 * template-override.j2: block redefinitions, then `{% set name = <json> %}` lines.
 */
export const OVERRIDE_TEMPLATE_NAME = '__ci_builder_template_override__.j2';

const extendsLine = /.*\{%.*extends.*\n/g;

/** The name the text before an override's `{% extends %}` is rendered under. */
export const OVERRIDE_LEADING_TEMPLATE_NAME = '__ci_builder_template_override_leading__.j2';

/**
 * The text before an override's `{% extends %}`, as a template of its own: Jinja2 renders that text
 * ahead of the parent's output (Kayobe's `# Ansible managed` and blank lines open every Dockerfile),
 * where nunjucks drops it. Templates lose one trailing newline when read; this text keeps all of its
 * own, so one is added for that. Empty when there is none.
 */
export function leadingText(override: string): string {
  const at = override.search(/\{%-?\s*extends\b/);
  if (at <= 0) return '';
  const text = override.slice(0, at);
  return text.endsWith('\n') ? `${text}\n` : text;
}

export interface OverrideInputs {
  /** Contents of the override files, in order. */
  files: readonly string[];
  blocks: Record<string, string>;
  customizations: Record<string, unknown>;
}

/**
 * Where each line of the merged override comes from, 1-based: `file:line` of an override file (named as
 * given), or the config's build.blocks / build.customizations for the generated part.
 */
export function overrideLineOrigins(inputs: OverrideInputs, names: readonly string[]): string[] {
  const origins: string[] = [];
  if (inputs.files.length === 0) origins.push('the generated {% extends parent_template %}');
  let glued = false;
  inputs.files.forEach((content, index) => {
    const name = names[index] ?? `template override ${index + 1}`;
    const parts = content.split('\n');
    parts.forEach((line, at) => {
      const ended = at < parts.length - 1;
      if (!ended && line === '') return;
      // Later files lose their extends line, as mergeOverrides drops it.
      if (index > 0 && ended && /\{%.*extends/.test(line)) return;
      // A file without a final line end continues on the next file's first line.
      if (glued) glued = false;
      else origins.push(`${name}:${at + 1}`);
      if (!ended) glued = true;
    });
  });
  for (const [name, body] of Object.entries(inputs.blocks)) {
    const count = body.replace(/\n$/, '').split('\n').length + 2;
    for (let line = 0; line < count; line++) origins.push(`build.blocks.${name} in the config`);
  }
  for (const name of Object.keys(inputs.customizations)) origins.push(`build.customizations.${name} in the config`);
  return origins;
}

export function mergeOverrides(inputs: OverrideInputs): string | undefined {
  const generated = [
    ...Object.entries(inputs.blocks).map(
      ([name, body]) => `{% block ${name} %}\n${body.replace(/\n$/, '')}\n{% endblock %}\n`,
    ),
    ...Object.entries(inputs.customizations).map(([name, value]) => `{% set ${name} = ${JSON.stringify(value)} %}\n`),
  ].join('');
  const [first, ...rest] = inputs.files;
  if (first === undefined) return generated === '' ? undefined : `{% extends parent_template %}\n${generated}`;
  return [first, ...rest.map((content) => content.replace(extendsLine, ''))].join('') + generated;
}
