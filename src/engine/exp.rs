//! `eˣ` for the model's hot loops (the sigmoid of every row of every gradient pass).
//!
//! Natively it is the platform's `exp` (glibc's). In WebAssembly Rust's `f64::exp` is
//! a call into its software libm (FreeBSD's `e_exp.c`: argument reduction
//! `x = k ln2 + r`, `|r| ≤ ln2 / 2`, then `eʳ = 1 + r + r c(r) / (2 − c(r))` with a
//! degree-5 Remez polynomial `c`, error < 1 ulp), which the worker's profile showed at
//! a third of a leave-one-out. [`exp`] is the same algorithm, step for step, inlined
//! into its callers for `|x| < 708` (where `2ᵏ` and the result are normal numbers, so
//! the final scaling is one exact product), and the library's function elsewhere: the
//! same bits as `f64::exp` in the browser (tested natively against the `libm` crate,
//! the code Rust's wasm target runs). [`exp_pair`] runs it on both lanes of a wasm SIMD
//! vector, for the sigmoid of a lockstep group's rows: the same bits per lane (tested
//! in the browser against the same crate).

/// `ln 2`, split so that `k · LN2_HI` is exact for the `k` used here, and the other
/// constants of `e_exp.c`, by their bits (as the C source gives them).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);

/// `eˣ`: the library's natively; in WebAssembly its algorithm inlined (module docs).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    return libm_exp(x);
    #[cfg(not(target_arch = "wasm32"))]
    x.exp()
}

/// FreeBSD's `exp` (as Rust's wasm libm has it) for `|x| < 708`, inlined; `f64::exp`
/// beyond.
#[inline(always)]
pub fn libm_exp(x: f64) -> f64 {
    let hx = ((x.to_bits() >> 32) as u32) & 0x7fff_ffff; // high word of |x|
    if hx >= 0x4086_2000 || x.is_nan() {
        return x.exp(); // |x| ≥ 708 (or NaN): overflow, underflow, subnormals
    }
    let (k, hi, lo, r) = if hx > 0x3fd6_2e42 {
        // |x| > ln2 / 2
        let k = if hx >= 0x3ff0_a2b2 {
            // |x| ≥ 1.5 ln2
            (INV_LN2 * x + if x < 0.0 { -0.5 } else { 0.5 }) as i32
        } else if x < 0.0 {
            -1
        } else {
            1
        };
        let hi = x - f64::from(k) * LN2_HI;
        let lo = f64::from(k) * LN2_LO;
        (k, hi, lo, hi - lo)
    } else if hx > 0x3e30_0000 {
        // 2⁻²⁸ < |x| ≤ ln2 / 2
        (0, x, 0.0, x)
    } else {
        return 1.0 + x;
    };
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    if k == 0 {
        y
    } else {
        // 2ᵏ with |k| ≤ 1022: a normal number, and the product is exact.
        y * f64::from_bits(((0x3ff + k) as u64) << 52)
    }
}

/// `[e^x₀, e^x₁]`: in WebAssembly [`libm_exp`] on both lanes of one wasm SIMD vector
/// (the same operations per lane, so the same bits; a pair with a lane at or beyond
/// ±708, or NaN, takes the scalar path); natively the library's, twice.
#[inline(always)]
pub fn exp_pair(x: [f64; 2]) -> [f64; 2] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd_exp_pair(x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    [exp(x[0]), exp(x[1])]
}

/// [`libm_exp`] with its branches as lane masks. The thresholds on `|x|`'s high word
/// are thresholds on `|x|` itself (a positive double orders as its bits do).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_exp_pair(x: [f64; 2]) -> [f64; 2] {
    use core::arch::wasm32::*;
    let above = |high_word: u64| f64x2_splat(f64::from_bits(high_word << 32));
    let v = f64x2(x[0], x[1]);
    let a = f64x2_abs(v);
    if !i64x2_all_true(f64x2_lt(a, above(0x4086_2000))) {
        return [libm_exp(x[0]), libm_exp(x[1])]; // a lane ≥ 708 or NaN
    }
    let negative = f64x2_lt(v, f64x2_splat(0.0));
    let sign = |neg: f64, pos: f64| v128_bitselect(f64x2_splat(neg), f64x2_splat(pos), negative);
    // k: round(x / ln2) for |x| ≥ 1.5 ln2, ±1 above ln2 / 2, 0 below.
    let k_far = f64x2_trunc(f64x2_add(f64x2_mul(f64x2_splat(INV_LN2), v), sign(-0.5, 0.5)));
    let k_near = v128_bitselect(sign(-1.0, 1.0), f64x2_splat(0.0), f64x2_ge(a, above(0x3fd6_2e43)));
    let k = v128_bitselect(k_far, k_near, f64x2_ge(a, above(0x3ff0_a2b2)));
    let hi = f64x2_sub(v, f64x2_mul(k, f64x2_splat(LN2_HI)));
    let lo = f64x2_mul(k, f64x2_splat(LN2_LO));
    let r = f64x2_sub(hi, lo);
    let rr = f64x2_mul(r, r);
    let (mul, add) = (f64x2_mul, f64x2_add);
    let poly = add(f64x2_splat(P4), mul(rr, f64x2_splat(P5)));
    let poly = add(f64x2_splat(P3), mul(rr, poly));
    let poly = add(f64x2_splat(P2), mul(rr, poly));
    let poly = add(f64x2_splat(P1), mul(rr, poly));
    let c = f64x2_sub(r, mul(rr, poly));
    let rc = f64x2_div(mul(r, c), f64x2_sub(f64x2_splat(2.0), c));
    let y = add(f64x2_splat(1.0), add(f64x2_sub(rc, lo), hi));
    // 2ᵏ from its exponent bits (k = 0 gives 1.0, an exact product).
    let k64 = i64x2_extend_low_i32x4(i32x4_trunc_sat_f64x2_zero(k));
    let scale = i64x2_shl(i64x2_add(k64, i64x2_splat(0x3ff)), 52);
    let e = f64x2_mul(y, scale);
    // |x| ≤ 2⁻²⁸: 1 + x.
    let out = v128_bitselect(f64x2_add(f64x2_splat(1.0), v), e, f64x2_lt(a, above(0x3e30_0001)));
    [f64x2_extract_lane::<0>(out), f64x2_extract_lane::<1>(out)]
}

#[cfg(test)]
mod tests {
    use super::libm_exp;

    /// The same bits as the `libm` crate's `exp` (what `f64::exp` runs in wasm) at
    /// every branch: both sides of each threshold, the reduction's boundaries, tiny and
    /// zero arguments, the range the model uses (z ≤ 0 in the sigmoid) and beyond ±708.
    #[test]
    fn the_same_bits_as_the_library() {
        let mut xs: Vec<f64> = vec![
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            3.7e-9,
            -3.7e-9,
            0.346_573_590_279_972_6,
            0.346_573_590_279_973,
            -0.346_573_590_279_973,
            1.039_720_770_839_917_9,
            -1.039_720_770_839_917_9,
            1.0,
            -1.0,
            707.999,
            -707.999,
            708.0,
            -708.0,
            708.39,
            -708.4,
            709.78,
            -745.0,
            -746.0,
            710.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
        ];
        // A deterministic sweep: 200,000 points over [-750, 750] and 200,000 over
        // [-2, 2] (where the reduction switches), each nudged off the grid.
        for k in 0..200_000u32 {
            let t = f64::from(k) / 200_000.0;
            xs.push(-750.0 + 1500.0 * t + 1e-7 * f64::from(k % 97));
            xs.push(-2.0 + 4.0 * t + 1e-12 * f64::from(k % 89));
        }
        for x in xs {
            // Beyond ±708 `libm_exp` calls `f64::exp` itself (the library in wasm, glibc
            // here): the same bits as that.
            let lib = if x.abs() >= 708.0 || x.is_nan() { x.exp() } else { libm::exp(x) };
            let ours = libm_exp(x);
            assert!(
                ours.to_bits() == lib.to_bits() || (ours.is_nan() && lib.is_nan()),
                "exp({x:e}): {ours:e} vs {lib:e}"
            );
        }
    }
}
