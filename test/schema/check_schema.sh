#!/usr/bin/env bash
# check_schema.sh PACKAGE_FBS_DIR OUR_FBS_DIR
#
# Proves that our channel schema (fbs/) is a conforming evolution of the one shipped in
# npm mediasoup (node_modules/mediasoup/worker/fbs). Two checks per file:
#
#  1. `flatc --conform PACKAGE/F -I OURS OURS/F`: flatc's own evolution check. It only looks
#     at what OUR file defines (types, vtable slots, defaults, enum values), so a table,
#     field or enum value we simply left out passes it.
#  2. Completeness: both files are compiled to binary schemas (`flatc -b --schema`) and
#     every table, struct, enum, union, field and enum value the package declares in F must
#     exist in ours, declared in F, with the same slot, type, default, flags (required,
#     deprecated, key, optional) and attributes; F must have the same includes and root type.
#     Extra definitions, trailing fields and appended enum values are accepted only in
#     the files listed in EXTENSIBLE (sluice's own reporting fields).
#
# Prints `ok F` or `FAIL F: reason` per file, exits non-zero if any file fails.

set -u

FLATC=${FLATC:-flatc}
EXTENSIBLE=" worker.fbs transport.fbs "
FILES=(
    activeSpeakerObserver audioLevelObserver common consumer dataConsumer dataProducer
    directTransport liburing log message notification pipeTransport plainTransport producer
    request response router rtpObserver rtpPacket rtpParameters rtpStream rtxStream
    sctpAssociation sctpParameters srtpParameters transport webRtcServer webRtcTransport
    worker
)

if [ $# -ne 2 ]; then
    echo "usage: $0 PACKAGE_FBS_DIR OUR_FBS_DIR" >&2
    exit 2
fi
pkg=$1
ours=$2

if [ ! -d "$pkg" ]; then
    echo "FAIL: mediasoup's schema directory $pkg does not exist." \
         "Run scripts/setup first (it installs test/node/node_modules)."
    exit 1
fi
if [ ! -d "$ours" ]; then
    echo "FAIL: our schema directory $ours does not exist."
    exit 1
fi
for tool in "$FLATC" python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool not found in PATH."
        exit 1
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Reads two .bfbs files and prints one line per difference (nothing when they agree).
# Slot numbers below are those of flatbuffers' reflection.fbs (2.0.x).
cat >"$tmp/compare.py" <<'PY'
import struct
import sys


class Table:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vt = pos - struct.unpack_from('<i', buf, pos)[0]
        self.vtlen = struct.unpack_from('<H', buf, self.vt)[0]

    def _off(self, slot):
        entry = 4 + 2 * slot
        if entry >= self.vtlen:
            return 0
        return struct.unpack_from('<H', self.buf, self.vt + entry)[0]

    def scalar(self, slot, fmt, default=0):
        off = self._off(slot)
        if not off:
            return default
        return struct.unpack_from('<' + fmt, self.buf, self.pos + off)[0]

    def _deref(self, slot):
        off = self._off(slot)
        if not off:
            return None
        p = self.pos + off
        return p + struct.unpack_from('<I', self.buf, p)[0]

    def _str_at(self, p):
        n = struct.unpack_from('<I', self.buf, p)[0]
        return self.buf[p + 4:p + 4 + n].decode()

    def string(self, slot):
        p = self._deref(slot)
        return None if p is None else self._str_at(p)

    def table(self, slot):
        p = self._deref(slot)
        return None if p is None else Table(self.buf, p)

    def _vector(self, slot):
        p = self._deref(slot)
        if p is None:
            return []
        n = struct.unpack_from('<I', self.buf, p)[0]
        elems = (p + 4 + 4 * i for i in range(n))
        return [e + struct.unpack_from('<I', self.buf, e)[0] for e in elems]

    def tables(self, slot):
        return [Table(self.buf, p) for p in self._vector(slot)]

    def strings(self, slot):
        return [self._str_at(p) for p in self._vector(slot)]


BASE = ['None', 'UType', 'Bool', 'Byte', 'UByte', 'Short', 'UShort', 'Int', 'UInt', 'Long',
        'ULong', 'Float', 'Double', 'String', 'Vector', 'Obj', 'Union', 'Array']


def load(path):
    """Returns ({qualified name: definition}, {file: includes}, root type name)."""
    buf = open(path, 'rb').read()
    root = Table(buf, struct.unpack_from('<I', buf, 0)[0])
    objects, enums = root.tables(0), root.tables(1)
    obj_names = [o.string(0) for o in objects]
    enum_names = [e.string(0) for e in enums]

    # Types are printed by name, never by index: indices shift when we add definitions.
    def type_str(t):
        if t is None:
            return 'None'
        idx = t.scalar(2, 'i', -1)

        def named(b):
            if idx < 0:
                return b
            return obj_names[idx] if b == 'Obj' else enum_names[idx] + ':' + b
        base = BASE[t.scalar(0, 'b')]
        if base == 'Vector':
            return '[' + named(BASE[t.scalar(1, 'b')]) + ']'
        if base == 'Array':
            return '[%s:%d]' % (named(BASE[t.scalar(1, 'b')]), t.scalar(3, 'H'))
        return named(base)

    def attrs(t, slot):
        # An explicit (id: N) equal to the implicit one is no difference; ids are compared.
        return sorted((kv.string(0), kv.string(1) or '')
                      for kv in t.tables(slot) if kv.string(0) != 'id')

    defs = {}
    for o in objects:
        fields = {}
        for f in o.tables(1):
            fields[f.string(0)] = {
                'id': f.scalar(2, 'H'), 'offset': f.scalar(3, 'H'),
                'type': type_str(f.table(1)),
                'default': (f.scalar(4, 'q'), f.scalar(5, 'd')),
                'deprecated': f.scalar(6, 'B'), 'required': f.scalar(7, 'B'),
                'key': f.scalar(8, 'B'), 'optional': f.scalar(11, 'B'),
                'padding': f.scalar(12, 'H'), 'attributes': attrs(f, 9),
            }
        defs[o.string(0)] = {
            'kind': 'struct' if o.scalar(2, 'B') else 'table', 'file': o.string(7),
            'layout': (o.scalar(3, 'i'), o.scalar(4, 'i')), 'attributes': attrs(o, 5),
            'fields': fields,
        }
    for e in enums:
        values = {v.string(0): {'value': v.scalar(1, 'q'), 'type': type_str(v.table(3))}
                  for v in e.tables(1)}
        defs[e.string(0)] = {
            'kind': 'union' if e.scalar(2, 'B') else 'enum', 'file': e.string(6),
            'underlying': type_str(e.table(3)), 'attributes': attrs(e, 4),
            'values': values,
        }
    includes = {sf.string(0): sorted(sf.strings(1)) for sf in root.tables(7)}
    rt = root.table(4)
    return defs, includes, (rt.string(0) if rt else None, root.string(2), root.string(3))


def compare(name, base_path, new_path, extensible):
    me = '//' + name
    base, base_inc, base_root = load(base_path)
    new, new_inc, new_root = load(new_path)
    out = []
    if base_inc.get(me) != new_inc.get(me):
        out.append('includes differ: %s vs ours %s' % (base_inc.get(me), new_inc.get(me)))
    if base_root != new_root:
        out.append('root_type/file_identifier differ: %s vs ours %s' % (base_root, new_root))

    for qn, b in sorted(base.items()):
        if b['file'] != me:
            continue
        n = new.get(qn)
        if n is None:
            out.append('%s %s missing' % (b['kind'], qn))
            continue
        if n['file'] != me:
            out.append('%s declared in %s' % (qn, n['file']))
        for key in ('kind', 'layout', 'underlying', 'attributes'):
            if b.get(key) != n.get(key):
                out.append('%s: %s %s vs ours %s' % (qn, key, b.get(key), n.get(key)))
        members = 'fields' if 'fields' in b else 'values'
        order = 'id' if members == 'fields' else 'value'
        for mn, bm in b[members].items():
            nm = n[members].get(mn)
            if nm is None:
                out.append('%s.%s missing' % (qn, mn))
            elif nm != bm:
                diff = ['%s %s vs ours %s' % (k, bm[k], nm[k]) for k in bm if bm[k] != nm[k]]
                out.append('%s.%s: %s' % (qn, mn, ', '.join(diff)))
        last = max((m[order] for m in b[members].values()), default=-1)
        for mn, nm in n[members].items():
            if mn in b[members]:
                continue
            if not extensible:
                out.append('%s.%s is not in the package schema' % (qn, mn))
            elif nm[order] <= last:
                out.append('%s.%s added before the end (%s %d)' % (qn, mn, order, nm[order]))

    for qn, n in sorted(new.items()):
        if n['file'] != me or (qn in base and base[qn]['file'] == me):
            continue
        if qn in base:
            out.append('%s belongs in %s' % (qn, base[qn]['file']))
        elif not extensible:
            out.append('%s %s is not in the package schema' % (n['kind'], qn))
    return out


if __name__ == '__main__':
    problems = compare(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1')
    print('\n'.join(problems))
PY

failed=0
for stem in "${FILES[@]}"; do
    f=$stem.fbs
    reasons=()
    if [ ! -f "$pkg/$f" ]; then
        reasons+=("not in the package directory $pkg")
    elif [ ! -f "$ours/$f" ]; then
        reasons+=("missing from $ours")
    else
        if ! out=$("$FLATC" --conform "$pkg/$f" --conform-includes "$pkg" \
                       -I "$ours" "$ours/$f" 2>&1); then
            msg=$(printf '%s\n' "$out" | grep -v -E '^(flatc:|error:)?[[:space:]]*$' |
                  sed 's/^[[:space:]]*//' | head -n 3 | paste -sd ' ' -)
            reasons+=("flatc --conform: ${msg:-exit status non-zero}")
        fi
        mkdir -p "$tmp/pkg" "$tmp/ours"
        if ! out=$("$FLATC" -b --schema --bfbs-builtins -I "$pkg" -o "$tmp/pkg" \
                       "$pkg/$f" 2>&1); then
            reasons+=("flatc cannot compile the package file: $(echo $out)")
        elif ! out=$("$FLATC" -b --schema --bfbs-builtins -I "$ours" -o "$tmp/ours" \
                         "$ours/$f" 2>&1); then
            reasons+=("flatc cannot compile our file: $(echo $out)")
        else
            ext=0
            [[ $EXTENSIBLE == *" $f "* ]] && ext=1
            if ! out=$(python3 "$tmp/compare.py" "$f" "$tmp/pkg/$stem.bfbs" \
                           "$tmp/ours/$stem.bfbs" "$ext" 2>&1); then
                reasons+=("binary schema comparison crashed: $(echo $out)")
            elif [ -n "$out" ]; then
                while IFS= read -r line; do
                    reasons+=("$line")
                done <<<"$out"
            fi
        fi
    fi

    if [ ${#reasons[@]} -eq 0 ]; then
        echo "ok $f"
    else
        failed=1
        shown=("${reasons[@]:0:6}")
        more=$((${#reasons[@]} - ${#shown[@]}))
        line=$(printf '%s; ' "${shown[@]}")
        line=${line%; }
        [ $more -gt 0 ] && line+="; (+$more more)"
        echo "FAIL $f: $line"
    fi
done

exit $failed
