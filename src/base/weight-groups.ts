/** The role of a weight tensor inside its layer, read from the variable name's last segment. */
export type WeightRole = 'kernel' | 'bias' | 'beta' | 'gamma' | 'other';

/** What the search knows about one trainable tensor. */
export interface WeightTensorInfo {
  /** The variable name, e.g. `block0_conv/kernel`. */
  readonly name: string;
  /** The layer part of the name (everything before the last `/`). */
  readonly layer: string;
  /** Kernel, bias, beta, gamma or other; decides the order inside a group and the σ fallbacks. */
  readonly role: WeightRole;
  /** The tensor shape. */
  readonly shape: readonly number[];
  /** The number of scalars. */
  readonly size: number;
}

/**
 * A unit of the layer order: the tensors searched together, in their search order.
 *
 * @remarks By default a normalization layer (only beta/gamma) joins the layer before it, so that a
 * conv → BN block is searched as the authors' script does: kernel, then beta, then gamma.
 */
export interface WeightGroup {
  /** The layer name, or `conv+bn` for a merged block. */
  readonly name: string;
  /** Indices into the tensor list, in search order. */
  readonly tensors: readonly number[];
  /** Number of scalars in the group. */
  readonly size: number;
}

const ROLE_RANK: Record<WeightRole, number> = { kernel: 0, bias: 1, beta: 2, gamma: 3, other: 4 };

/** Describes a variable from its name and shape. */
export function describeTensor(name: string, shape: readonly number[]): WeightTensorInfo {
  const slash = name.lastIndexOf('/');
  const layer = slash < 0 ? name : name.slice(0, slash);
  const leaf = (slash < 0 ? name : name.slice(slash + 1)).replace(/_\d+$/, '');
  const role: WeightRole =
    leaf === 'kernel' || leaf === 'depthwise_kernel' || leaf === 'pointwise_kernel' || leaf === 'embeddings'
      ? 'kernel'
      : leaf === 'bias' || leaf === 'beta' || leaf === 'gamma'
        ? leaf
        : 'other';
  return { name, layer, role, shape: [...shape], size: shape.reduce((a, b) => a * b, 1) };
}

/**
 * Groups tensors into search units. Tensors of one layer form a group; with `mergeNormalization`, a layer
 * whose tensors are all beta/gamma joins the group before it (in the variables' order).
 */
export function groupWeights(tensors: readonly WeightTensorInfo[], mergeNormalization: boolean): WeightGroup[] {
  const groups: { name: string; tensors: number[] }[] = [];
  const byLayer = new Map<string, { name: string; tensors: number[] }>();
  tensors.forEach((t, i) => {
    let g = byLayer.get(t.layer);
    if (g === undefined) {
      g = { name: t.layer, tensors: [] };
      byLayer.set(t.layer, g);
      groups.push(g);
    }
    g.tensors.push(i);
  });
  const merged: { name: string; tensors: number[] }[] = [];
  for (const g of groups) {
    const normOnly = g.tensors.every((i) => tensors[i]!.role === 'beta' || tensors[i]!.role === 'gamma');
    const prev = merged[merged.length - 1];
    if (mergeNormalization && normOnly && prev !== undefined) {
      prev.tensors.push(...g.tensors);
      prev.name = `${prev.name}+${g.name}`;
    } else {
      merged.push({ name: g.name, tensors: [...g.tensors] });
    }
  }
  return merged.map((g) => {
    // Stable sort: kernel, bias, beta, gamma, others (arXiv:2005.05955, authors' script order).
    const ordered = [...g.tensors].sort((a, b) => ROLE_RANK[tensors[a]!.role] - ROLE_RANK[tensors[b]!.role] || a - b);
    return { name: g.name, tensors: ordered, size: ordered.reduce((s, i) => s + tensors[i]!.size, 0) };
  });
}

/**
 * Maps the k-th scalar of a tensor, in search order, to its flat (row-major) index.
 *
 * @remarks Kernels are searched filter by filter (arXiv:2005.05955, authors' script). For a conv kernel
 * [kh, kw, in, out]: k = ((o·IN + i)·KH + h)·KW + w ↦ ((h·KW + w)·IN + i)·OUT + o. For a dense kernel
 * [in, out]: k = o·IN + i ↦ i·OUT + o. Other tensors are searched in flat order.
 */
export function searchOrderToFlat(info: WeightTensorInfo, k: number): number {
  const s = info.shape;
  if (info.role === 'kernel' && s.length === 4) {
    const [kh, kw, cin, cout] = s as [number, number, number, number];
    const w = k % kw;
    let r = (k - w) / kw;
    const h = r % kh;
    r = (r - h) / kh;
    const i = r % cin;
    const o = (r - i) / cin;
    return ((h * kw + w) * cin + i) * cout + o;
  }
  if (info.role === 'kernel' && s.length === 2) {
    const [cin, cout] = s as [number, number];
    const i = k % cin;
    const o = (k - i) / cin;
    return i * cout + o;
  }
  return k;
}
