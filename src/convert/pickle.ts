// A restricted unpickler for PyTorch state_dict pickles. It builds plain data (Maps, arrays, numbers,
// strings) and never calls anything: the only globals it accepts are the handful a state_dict needs,
// each mapped to a fixed, harmless JavaScript constructor below. Anything else is an error that names
// the global, so a checkpoint from a stranger can never run code here.

/** A storage reference as torch.save writes it: ('storage', <dtype>Storage, key, location, numel). */
export interface StorageRef {
  kind: 'storage';
  dtype: TorchDtype;
  key: string;
  location: string;
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a view of a storage. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

export type TorchDtype =
  'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

class StorageType {
  constructor(readonly dtype: TorchDtype) {}
}
class Global {
  constructor(readonly name: string) {}
}

/** Limits that keep a hostile pickle within bounded time and memory. */
const MAX_STACK = 1_000_000;
const MAX_MEMO = 200_000; // a full XLS-R state_dict uses a few thousand
const MAX_DIMS = 16;
/** Objects pushed in all: a full XLS-R state_dict pushes about 60 thousand. */
const MAX_OBJECTS = 2_000_000;
/** Dict and list entries in all: a state_dict has one per tensor (about 420 for XLS-R RAT) plus small tuples. */
const MAX_ENTRIES = 50_000;

/** Every Python global the unpickler resolves; anything else is refused before it is looked up. */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_TYPES).map((t) => `torch.${t}`),
];

export interface UnpickleOptions {
  /** Audit hook (tests): called with every global the pickle names, before it is accepted or refused. */
  onGlobal?: (name: string, accepted: boolean) => void;
}

function allowedGlobal(module: string, name: string, opts: UnpickleOptions): unknown {
  const full = `${module}.${name}`;
  const ok = ALLOWED_GLOBALS.includes(full);
  opts.onGlobal?.(full, ok);
  if (full === 'collections.OrderedDict') return new Global(full);
  if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_parameter') return new Global(full);
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new StorageType(STORAGE_TYPES[name]);
  throw new PickleError(
    `The checkpoint's pickle refers to the Python global "${full}", which a state_dict never needs. ` +
      'It was refused and nothing was executed. Only plain state_dict checkpoints (torch.save(model.state_dict())) are accepted.',
  );
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function toDims(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > MAX_DIMS || !v.every((d) => isInt(d) && d >= 0))
    throw new PickleError(`tensor ${what} is not a tuple of non-negative integers`);
  return v as number[];
}

function call(fn: unknown, args: unknown): unknown {
  if (!(fn instanceof Global)) throw new PickleError('the pickle calls something that is not an allowed global');
  if (!Array.isArray(args)) throw new PickleError(`${fn.name} called without an argument tuple`);
  switch (fn.name) {
    case 'collections.OrderedDict':
      if (args.length !== 0) throw new PickleError('OrderedDict must be built empty');
      return new Map();
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = args;
      if (!storage || (storage as StorageRef).kind !== 'storage')
        throw new PickleError('_rebuild_tensor_v2 without a storage');
      if (!isInt(offset) || offset < 0) throw new PickleError('tensor storage offset is not a non-negative integer');
      const shape = toDims(size, 'size');
      const strides = toDims(stride, 'stride');
      if (shape.length !== strides.length) throw new PickleError('tensor size and stride have different lengths');
      return { kind: 'tensor', storage, offset, shape, stride: strides } satisfies TensorRef;
    }
    case 'torch._utils._rebuild_parameter':
      return args[0];
    default:
      throw new PickleError(`${fn.name} cannot be called`);
  }
}

function persistentLoad(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
    throw new PickleError('unknown persistent id: only tensor storages are accepted');
  const [, type, key, location, numel] = pid;
  if (!(type instanceof StorageType)) throw new PickleError('storage reference without a known storage type');
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key))
    throw new PickleError(`storage key ${JSON.stringify(key)} is not a plain name`);
  if (!isInt(numel) || numel < 0) throw new PickleError(`storage ${key} has an invalid element count`);
  return { kind: 'storage', dtype: type.dtype, key, location: String(location), numel };
}

/** Unpickles a state_dict pickle into a Map of key -> TensorRef (and whatever plain data sits beside it). */
export function unpickle(data: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const need = (n: number) => {
    if (pos + n > data.length)
      throw new PickleError(
        `the pickle ends early (wanted ${n} bytes at offset ${pos} of ${data.length}): the checkpoint is truncated or corrupted`,
      );
  };
  const u8 = () => {
    need(1);
    return data[pos++];
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('the pickle ends inside a text line');
    let s: string;
    try {
      s = text.decode(data.subarray(pos, end));
    } catch {
      throw new PickleError(`invalid UTF-8 text line at offset ${pos}`);
    }
    pos = end + 1;
    return s;
  };
  const str = (n: number) => {
    try {
      return text.decode(bytes(n));
    } catch {
      throw new PickleError(`invalid UTF-8 string at offset ${pos - n}`);
    }
  };
  let objects = 0;
  let entries = 0;
  const push = (v: unknown) => {
    if (stack.length >= MAX_STACK) throw new PickleError('the pickle stack grows beyond any state_dict');
    if (++objects > MAX_OBJECTS)
      throw new PickleError(
        `the pickle builds more than ${MAX_OBJECTS.toLocaleString('en')} objects, far beyond any state_dict`,
      );
    stack.push(v);
  };
  const addEntries = (n: number) => {
    entries += n;
    if (entries > MAX_ENTRIES)
      throw new PickleError(
        `the pickle's dicts and lists hold more than ${MAX_ENTRIES.toLocaleString('en')} entries, far beyond any state_dict`,
      );
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]))
      throw new PickleError(`stack underflow at offset ${pos - 1}`);
    return stack.pop();
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError(`missing MARK at offset ${pos - 1}`);
    return stack.splice(m);
  };
  const top = () => {
    if (stack.length === 0) throw new PickleError(`empty stack at offset ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const put = (i: number) => {
    if (memo.size >= MAX_MEMO && !memo.has(i)) throw new PickleError('the pickle memo grows beyond any state_dict');
    memo.set(i, top());
  };
  const get = (i: number) => {
    if (!memo.has(i)) throw new PickleError(`memo entry ${i} is read before it is written`);
    push(memo.get(i));
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) throw new PickleError('SETITEM on something that is not a dict');
    if (items.length % 2) throw new PickleError('odd number of dict items');
    addEntries(items.length / 2);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== 'string' && typeof k !== 'number') throw new PickleError('dict key is not a string or number');
      target.set(k, items[i + 1]);
    }
  };
  const append = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) throw new PickleError('APPEND on something that is not a list');
    addEntries(items.length);
    // a loop, not push(...items): a million-item APPENDS would overflow the call stack
    for (const item of items) target.push(item);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto > 5) throw new PickleError(`pickle protocol ${proto} is not supported`);
        break;
      } // PROTO
      case 0x95:
        bytes(8);
        break; // FRAME: framing is only a hint
      case 0x2e: {
        // STOP
        if (stack.length !== 1) throw new PickleError('the pickle did not end with exactly one object');
        return stack[0];
      }
      case 0x28:
        marks.push(stack.length);
        break; // MARK
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x29:
        push([]);
        break; // EMPTY_TUPLE
      case 0x74:
        push(popMark());
        break; // TUPLE
      case 0x85:
        push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push([a, b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x64: {
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        push(m);
        break;
      } // DICT
      case 0x71:
        put(u8());
        break; // BINPUT
      case 0x72:
        put(u32());
        break; // LONG_BINPUT
      case 0x94:
        put(memo.size);
        break; // MEMOIZE
      case 0x68:
        get(u8());
        break; // BINGET
      case 0x6a:
        get(u32());
        break; // LONG_BINGET
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a: {
        // LONG1
        const n = u8();
        const b = bytes(n);
        if (n > 7) throw new PickleError('integer too large for a state_dict');
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + b[i];
        if (n > 0 && b[n - 1] & 0x80) v -= 2 ** (8 * n);
        push(v);
        break;
      }
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x47: {
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      } // BINFLOAT (big-endian)
      case 0x58:
        push(str(u32()));
        break; // BINUNICODE
      case 0x8c:
        push(str(u8()));
        break; // SHORT_BINUNICODE
      case 0x8d: {
        const lo = u32();
        const hi = u32();
        if (hi) throw new PickleError('string too long');
        push(str(lo));
        break;
      } // BINUNICODE8
      case 0x55:
        push(str(u8()));
        break; // SHORT_BINSTRING
      case 0x54:
        push(str(u32()));
        break; // BINSTRING
      case 0x43:
        push(bytes(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x42:
        push(bytes(u32()).slice());
        break; // BINBYTES
      case 0x63: {
        const module = line();
        const name = line();
        push(allowedGlobal(module, name, opts));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw new PickleError('STACK_GLOBAL with non-string names');
        push(allowedGlobal(module, name, opts));
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        push(call(fn, args));
        break;
      } // REDUCE
      case 0x81:
        throw new PickleError('NEWOBJ: the pickle builds a class instance, which a state_dict never contains'); // NEWOBJ
      case 0x62: {
        // BUILD: OrderedDict state (its _metadata) is kept aside, never applied through code
        const state = pop();
        const target = top();
        if (!(target instanceof Map)) throw new PickleError('BUILD on something other than a dict');
        (target as Map<unknown, unknown> & { state?: unknown }).state = state;
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x61: {
        const v = pop();
        append(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      } // APPENDS
      case 0x51:
        push(persistentLoad(pop()));
        break; // BINPERSID
      default:
        throw new PickleError(
          `pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${pos - 1} is not part of a state_dict pickle`,
        );
    }
  }
}
