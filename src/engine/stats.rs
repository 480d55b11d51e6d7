//! Agreement between score vectors: Pearson's r and Spearman's ρ (Pearson on average
//! ranks, so ties get the mean of the ranks they span).

/// Pearson correlation; `None` when either side is constant or the lengths differ.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return None;
    }
    Some((sab / (saa.sqrt() * sbb.sqrt())).clamp(-1.0, 1.0))
}

/// Average ranks (1-based); ties share the mean of their positions.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0; // mean of start+1 ..= end
        for &k in &order[start..end] {
            r[k] = mean_rank;
        }
        start = end;
    }
    r
}

/// Spearman rank correlation; `None` when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    pearson(&ranks(a), &ranks(b))
}

/// Mean, median and minimum of a list of values (the summary the UI and CLI report for
/// per-test-point correlations). `None` for an empty list.
pub fn summary(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len();
    let median = if m % 2 == 1 { s[m / 2] } else { 0.5 * (s[m / 2 - 1] + s[m / 2]) };
    Some(Summary { mean: s.iter().sum::<f64>() / m as f64, median, min: s[0] })
}

/// See [`summary`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_hand_computed() {
        // a = [1,2,3], b = [1,3,2]: deviations (-1,0,1) and (-1,1,0),
        // r = 1 / (sqrt 2 * sqrt 2) = 0.5.
        let r = pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap_or(f64::NAN);
        assert!((r - 0.5).abs() < 1e-15);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn ranks_average_ties() {
        // 10 is smallest (rank 1); the two 20s share ranks 2 and 3 -> 2.5; 30 is 4.
        assert_eq!(ranks(&[20.0, 10.0, 30.0, 20.0]), vec![2.5, 1.0, 4.0, 2.5]);
    }

    #[test]
    fn spearman_is_one_for_monotone_maps() {
        let a = [0.1, 0.5, 0.2, 0.9];
        let b: Vec<f64> = a.iter().map(|x: &f64| x.exp() * 3.0).collect();
        // Identical ranks: ρ = 1 up to the rounding of the Pearson sums.
        let rho = spearman(&a, &b).unwrap_or(f64::NAN);
        assert!((rho - 1.0).abs() < 1e-15, "{rho}");
    }

    #[test]
    fn summary_of_four() {
        let s = summary(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s, Some(Summary { mean: 2.5, median: 2.5, min: 1.0 }));
    }
}
