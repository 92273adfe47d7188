/**
 * Task types for the example sweep: a synthetic dataset shared by every
 * model, and a polynomial ridge-regression fit evaluated on held-out data.
 * They live in their own module so worker backends can import them.
 */
import { type Task, task } from "../mod.ts";

/** A dataset: inputs and noisy targets, split into train and test. */
export interface Dataset {
  trainX: Float64Array;
  trainY: Float64Array;
  testX: Float64Array;
  testY: Float64Array;
}

// mulberry32: a small seeded generator, so every run makes the same data.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples y = sin(2πx) + noise on [0, 1]. */
export const dataset = task({
  name: "Dataset",
  codeVersion: "v1",
  run(params: { samples: number; noise: number; seed: number }, ctx): Dataset {
    ctx.logger.info(`sampling ${params.samples} points`);
    const next = random(params.seed);
    const make = (n: number) => {
      const x = new Float64Array(n);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        x[i] = next();
        y[i] = Math.sin(2 * Math.PI * x[i]!) + params.noise * (next() * 2 - 1);
      }
      return [x, y] as const;
    };
    const [trainX, trainY] = make(params.samples);
    const [testX, testY] = make(params.samples);
    return { trainX, trainY, testX, testY };
  },
});

/** Fits a polynomial of `degree` with ridge penalty `lambda`; returns test error. */
export const ridgeFit = task({
  name: "RidgeFit",
  codeVersion: "v1",
  run(
    params: {
      data: Task<{ samples: number; noise: number; seed: number }, Dataset>;
      degree: number;
      lambda: number;
    },
  ) {
    const { trainX, trainY, testX, testY } = params.data.result;
    const d = params.degree + 1;
    // Normal equations (XᵀX + λI) w = Xᵀy, solved by Gaussian elimination.
    const a = Array.from({ length: d }, () => new Float64Array(d + 1));
    for (let i = 0; i < trainX.length; i++) {
      const powers = Array.from({ length: d }, (_, k) => trainX[i]! ** k);
      for (let r = 0; r < d; r++) {
        for (let c = 0; c < d; c++) a[r]![c]! += powers[r]! * powers[c]!;
        a[r]![d]! += powers[r]! * trainY[i]!;
      }
    }
    for (let r = 0; r < d; r++) a[r]![r]! += params.lambda;
    for (let col = 0; col < d; col++) {
      let pivot = col;
      for (let r = col + 1; r < d; r++) {
        if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
      }
      [a[col], a[pivot]] = [a[pivot]!, a[col]!];
      for (let r = 0; r < d; r++) {
        if (r === col) continue;
        const factor = a[r]![col]! / a[col]![col]!;
        for (let c = col; c <= d; c++) a[r]![c]! -= factor * a[col]![c]!;
      }
    }
    const weights = a.map((row, r) => row[d]! / row[r]!);
    let squared = 0;
    for (let i = 0; i < testX.length; i++) {
      const predicted = weights.reduce((sum, w, k) => sum + w * testX[i]! ** k, 0);
      squared += (predicted - testY[i]!) ** 2;
    }
    return { testRmse: Math.sqrt(squared / testX.length), weights };
  },
});
