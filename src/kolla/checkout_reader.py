"""Reads a Kolla checkout's own data for ci-builder (src/kolla/read-checkout.ts) and prints one JSON document.

It parses Kolla's modules with `ast` and evaluates only a small, side-effect-free subset (literals, names
bound earlier in the module, `if` at module level, `os.uname()`, oslo.config option constructors), so it
needs neither Kolla's dependencies nor an import of Kolla: nothing of the checkout runs. Whatever it cannot
understand stops it with one line naming the file and the name (exit 3).

Run isolated, so that no module of the checkout or the current folder shadows the standard library's:

    python3 -I -S checkout_reader.py CHECKOUT_DIR
"""
import ast, glob, json, os, sys

ROOT = sys.argv[1]

class Shape(Exception):
    pass

def fail(path, name, what):
    sys.stderr.write('%s: %s: %s\n' % (path, name, what))
    sys.exit(3)

def load(rel):
    path = os.path.join(ROOT, rel)
    try:
        with open(path, encoding='utf-8') as handle:
            return path, ast.parse(handle.read(), filename=path)
    except OSError as error:
        fail(path, '(file)', 'cannot be read: %s' % error.strerror)
    except SyntaxError as error:
        fail(path, '(file)', 'is not Python this reader can parse: line %s' % error.lineno)

OPT_KINDS = {'StrOpt', 'BoolOpt', 'IntOpt', 'FloatOpt', 'ListOpt', 'DictOpt',
             'MultiOpt', 'MultiStrOpt', 'PortOpt', 'URIOpt', 'HostnameOpt', 'HostAddressOpt', 'IPOpt'}

def evaluate(node, env):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [evaluate(item, env) for item in node.elts]
    if isinstance(node, ast.Set):
        return sorted(evaluate(item, env) for item in node.elts)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise Shape('a dict with ** unpacking')
        return {evaluate(k, env): evaluate(v, env) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise Shape('the name %s, which is not a value this reader knows' % node.id)
    if isinstance(node, ast.Subscript):
        return evaluate(node.value, env)[evaluate(node.slice, env)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return evaluate(node.left, env) + evaluate(node.right, env)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right, op = evaluate(node.left, env), evaluate(node.comparators[0], env), node.ops[0]
        if isinstance(op, ast.Eq): return left == right
        if isinstance(op, ast.NotEq): return left != right
        if isinstance(op, ast.In): return left in right
        if isinstance(op, ast.NotIn): return left not in right
    if isinstance(node, ast.Call):
        return evaluate_call(node, env)
    raise Shape('an expression of kind %s' % type(node).__name__)

def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return None if inner is None else inner + '.' + node.attr
    return None

def evaluate_call(node, env):
    name = dotted(node.func)
    if name == 'os.uname' and not node.args:
        return list(os.uname())
    if name == 'version.cached_version_string' or name == 'version.version_info.cached_version_string':
        return {'$ref': 'kolla_version'}
    if name is not None and name.startswith('types.') and not node.args:
        return {'$type': name[len('types.'):]}
    if name is not None and name.startswith('cfg.') and name[4:] in OPT_KINDS:
        return option(name[4:], node, env)
    raise Shape('a call to %s' % (name or 'an expression'))

def option(kind, node, env):
    if not node.args:
        raise Shape('an option without a name')
    opt = {'kind': kind, 'name': evaluate(node.args[0], env)}
    if kind == 'MultiOpt':
        opt['itemType'] = evaluate(node.args[1], env).get('$type') if len(node.args) > 1 else None
    for keyword in node.keywords:
        if keyword.arg == 'help':
            try:
                opt['help'] = evaluate(keyword.value, env)
            except Shape:
                opt['help'] = None
            continue
        if keyword.arg in ('default', 'choices', 'short', 'min', 'max', 'positional', 'required',
                           'item_type', 'secret', 'deprecated_name'):
            try:
                value = evaluate(keyword.value, env)
            except Shape as shape:
                raise Shape('option %s: %s is %s' % (opt['name'], keyword.arg, shape))
            if keyword.arg == 'item_type':
                opt['itemType'] = value.get('$type') if isinstance(value, dict) else None
            else:
                opt[keyword.arg] = value
    return opt

def module_values(path, tree, wanted=None):
    env = {}
    def run(statements):
        for statement in statements:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                target = statement.targets[0].id
                try:
                    env[target] = evaluate(statement.value, env)
                except (Shape, KeyError, IndexError, TypeError, AttributeError) as shape:
                    if wanted is not None and target in wanted:
                        fail(path, target, 'not understood: %s' % shape)
                    env.pop(target, None)
            elif isinstance(statement, ast.If):
                try:
                    chosen = evaluate(statement.test, env)
                except (Shape, KeyError, IndexError, TypeError, AttributeError):
                    continue
                run(statement.body if chosen else statement.orelse)
    run(tree.body)
    return env

def require(path, env, name, kind):
    if name not in env:
        fail(path, name, 'missing')
    if not isinstance(env[name], kind):
        fail(path, name, 'expected a %s, found a %s' % (kind.__name__, type(env[name]).__name__))
    return env[name]

def find_function(tree, name, within=None):
    scope = tree.body
    if within is not None:
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == within]
        scope = classes[0].body if classes else []
    for node in scope:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None

def function_options(path, tree, name, env):
    function = find_function(tree, name)
    if function is None:
        fail(path, name, 'missing (the options of a source or user section)')
    local = dict(env)
    for arg in function.args.args:
        local[arg.arg] = {'$param': arg.arg}
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            try:
                return evaluate(node.value, local)
            except Shape as shape:
                fail(path, name, 'not understood: %s' % shape)
    fail(path, name, 'returns no option list')

def condition(node, path, where):
    # Conditions over the values a template or the worker sees, as data the caller can evaluate.
    if isinstance(node, ast.BoolOp):
        kind = 'all' if isinstance(node.op, ast.And) else 'any'
        return {'kind': kind, 'of': [condition(v, path, where) for v in node.values]}
    subject = lambda n: (dotted(n) or '').split('.')[-1]
    if isinstance(node, ast.Name) or isinstance(node, ast.Attribute):
        return {'kind': 'set', 'name': subject(node)}
    if isinstance(node, ast.Compare) and len(node.ops) == 1 \
            and isinstance(node.comparators[0], (ast.Constant, ast.List, ast.Tuple)):
        values = evaluate(node.comparators[0], {})
        if isinstance(node.ops[0], ast.Eq):
            return {'kind': 'in', 'name': subject(node.left), 'values': [values]}
        if isinstance(node.ops[0], ast.In):
            return {'kind': 'in', 'name': subject(node.left), 'values': values}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'startswith' \
            and len(node.args) == 1:
        prefixes = evaluate(node.args[0], {})
        return {'kind': 'prefix', 'name': subject(node.func.value),
                'prefixes': prefixes if isinstance(prefixes, list) else [prefixes]}
    fail(path, where, 'a condition this reader does not understand: %s' % ast.dump(node)[:120])

def assigns(statement, attribute):
    return any(isinstance(n, ast.Attribute) and n.attr == attribute and isinstance(n.ctx, ast.Store)
               for n in ast.walk(statement))

def assignments_under_conditions(path, where, statements, attribute, path_so_far, out):
    for statement in statements:
        if isinstance(statement, ast.If):
            if not assigns(statement, attribute):
                continue
            test = condition(statement.test, path, where)
            assignments_under_conditions(path, where, statement.body, attribute, path_so_far + [test], out)
            assignments_under_conditions(path, where, statement.orelse, attribute, path_so_far, out)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Attribute) and target.attr == attribute:
                    if not isinstance(statement.value, ast.Constant):
                        continue
                    out.append({'when': path_so_far, 'value': statement.value.value})

def read_config():
    path, tree = load('kolla/common/config.py')
    wanted = {'BASE_OS_DISTRO', 'BASE_ARCH', 'DEFAULT_BASE_TAGS', 'DISTRO_PRETTY_NAME', 'OPENSTACK_RELEASE',
              'OPENSTACK_RELEASE_CODENAME', 'TARBALLS_BASE', '_PROFILE_OPTS', '_CLI_OPTS', '_BASE_OPTS'}
    env = module_values(path, tree, wanted)
    result = {
        'distros': require(path, env, 'BASE_OS_DISTRO', list),
        'architectures': require(path, env, 'BASE_ARCH', list),
        'defaultBaseImages': require(path, env, 'DEFAULT_BASE_TAGS', dict),
        'distroPrettyNames': require(path, env, 'DISTRO_PRETTY_NAME', dict),
        'openstackRelease': require(path, env, 'OPENSTACK_RELEASE', str),
        'openstackReleaseCodename': env.get('OPENSTACK_RELEASE_CODENAME'),
        'tarballsBase': env.get('TARBALLS_BASE'),
        'options': {
            'cli': require(path, env, '_CLI_OPTS', list),
            'base': require(path, env, '_BASE_OPTS', list),
            'profiles': require(path, env, '_PROFILE_OPTS', list),
            'source': function_options(path, tree, 'get_source_opts', env),
            'user': function_options(path, tree, 'get_user_opts', env),
        },
    }
    parse = find_function(tree, 'parse')
    if parse is None:
        fail(path, 'parse', 'missing')
    prefix, set_defaults = None, {}
    for node in ast.walk(parse):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == 'prefix' and isinstance(node.value, ast.IfExp):
            test = node.value.test
            if not (isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.Eq)):
                fail(path, 'parse: prefix', 'expected "<a> if conf.openstack_release == <release> else <b>"')
            prefix = {'release': evaluate(test.comparators[0], {}), 'then': evaluate(node.value.body, {}),
                      'else': evaluate(node.value.orelse, {})}
        if isinstance(node, ast.Call) and dotted(node.func) == 'conf.set_default' and len(node.args) == 2:
            name = evaluate(node.args[0], {})
            value = node.args[1]
            if isinstance(value, ast.JoinedStr):
                parts = []
                for piece in value.values:
                    if isinstance(piece, ast.Constant):
                        parts.append(piece.value.replace('{', '{{').replace('}', '}}'))
                    else:
                        parts.append('{' + (dotted(piece.value) or '?').split('.')[-1] + '}')
                set_defaults[name] = {'format': ''.join(parts)}
            else:
                set_defaults[name] = {'expression': ast.unparse(value)}
    if prefix is None:
        fail(path, 'parse: prefix', 'the openstack_branch prefix is not assigned as this reader expects')
    result['branchPrefix'] = prefix
    result['derivedDefaults'] = set_defaults
    return result

def read_worker():
    path, tree = load('kolla/image/kolla_worker.py')
    create = find_function(tree, 'create_dockerfiles', within='KollaWorker')
    init = find_function(tree, '__init__', within='KollaWorker')
    if create is None or init is None:
        fail(path, 'KollaWorker', 'create_dockerfiles or __init__ missing')
    keys, build_date = None, None
    for node in ast.walk(create):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == 'values' and isinstance(node.value, ast.Dict):
                keys = [evaluate(k, {}) for k in node.value.keys]
            if node.targets[0].id == 'build_date' and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == 'strftime':
                build_date = evaluate(node.value.args[0], {})
    if keys is None:
        fail(path, 'KollaWorker.create_dockerfiles: values', 'no "values = {...}" dict literal')
    unbuildable_elements = None
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id == 'tag_element' and isinstance(node.value, ast.BinOp) \
                    and isinstance(node.value.right, ast.Tuple):
                unbuildable_elements = [(dotted(e) or '?').split('.')[-1] for e in node.value.right.elts]
    if unbuildable_elements is None:
        fail(path, 'KollaWorker: tag_element', 'how unbuildable keys are matched was not found')
    python_versions = []
    assignments_under_conditions(path, 'KollaWorker.__init__', init.body, 'distro_python_version', [],
                                 python_versions)
    methods, filters = [], []
    for name, out in (('_get_methods', methods), ('_get_filters', filters)):
        function = find_function(tree, name, within='KollaWorker')
        for node in ast.walk(function) if function else []:
            if isinstance(node, ast.Dict):
                out.extend(evaluate(k, {}) for k in node.keys)
    return {'templateKeys': keys, 'buildDateFormat': build_date, 'unbuildableKeyElements': unbuildable_elements,
            'distroPythonVersion': python_versions if 'distro_python_version' in keys else None,
            'templateGlobals': methods, 'templateFilters': filters}

def read_repos():
    path, tree = load('kolla/template/methods.py')
    handle = find_function(tree, 'handle_repos')
    if handle is None:
        fail(path, 'handle_repos', 'missing')
    opens = [n for n in ast.walk(handle) if isinstance(n, ast.Call) and dotted(n.func) == 'open']
    if len(opens) not in (1, 2):
        fail(path, 'handle_repos', 'opens %d files; expected 1 (repos_yaml replaces) or 2 (merges)' % len(opens))
    variants = []
    for node in ast.walk(handle):
        if isinstance(node, ast.IfExp):
            for branch in (node.body, node.orelse):
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str) \
                        and branch.value.startswith('/repos-') and branch.value.endswith('.yaml'):
                    when = condition(node.test, path, 'handle_repos')
                    if branch is node.orelse:
                        when = {'kind': 'not', 'of': [when]}
                    variants.append({'file': branch.value[1:], 'when': when})
    files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(ROOT, 'kolla/template/repos*.yaml')))
    for variant in variants:
        if variant['file'] not in files:
            fail(path, 'handle_repos', 'names %s, which kolla/template does not have' % variant['file'])
    return {'files': files, 'override': 'replace' if len(opens) == 1 else 'merge', 'variants': variants}

def literal_table(rel, name, kind):
    path, tree = load(rel)
    env = module_values(path, tree, {name})
    return require(path, env, name, kind)

def unbuildable():
    table = literal_table('kolla/image/unbuildable.py', 'UNBUILDABLE_IMAGES', dict)
    # An empty entry is written {} in Python, which is a dict, not a set.
    return {key: sorted(value) if isinstance(value, (list, dict)) else value for key, value in table.items()}

print(json.dumps({
    'users': literal_table('kolla/common/users.py', 'USERS', dict),
    'sources': literal_table('kolla/common/sources.py', 'SOURCES', dict),
    'unbuildable': unbuildable(),
    'config': read_config(),
    'worker': read_worker(),
    'repos': read_repos(),
}))
