//! Decision boundaries of a [`Surface`] as polylines in plot coordinates, by marching
//! squares over the grid of cell centres: where two neighbouring cells predict
//! different classes, the boundary crosses the segment between their centres. For two
//! classes it crosses where the probability of class 1, interpolated linearly, is
//! one half (a smooth line); for more classes, halfway (a line at the grid's
//! resolution). Crossings are joined through each square of four centres into
//! polylines, so a dashed line keeps its rhythm along the boundary.
//!
//! The page draws the model's boundary before a change dashed, so that the retrained
//! boundary can be seen moving away from it.

use crate::protocol::Surface;
use std::collections::{HashMap, HashSet};

/// A crossing point or a square's centre, as a graph node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    /// Between cell (i, j) and (i + 1, j).
    Across(usize, usize),
    /// Between cell (i, j) and (i, j + 1).
    Up(usize, usize),
    /// The centre of the square whose lower-left cell is (i, j) (where three classes meet).
    Centre(usize, usize),
}

/// Polylines in plot coordinates.
pub type Lines = Vec<Vec<[f64; 2]>>;

/// The boundaries of `s` (none for a regression surface or a one-row surface).
pub fn boundaries(s: &Surface) -> Lines {
    let (nx, ny) = (s.nx, s.ny);
    if nx < 2 || ny < 2 || s.class.len() != nx * ny || s.value.len() != nx * ny {
        return Vec::new();
    }
    let class = |i: usize, j: usize| s.class[j * nx + i];
    let two_classes = s.class.iter().all(|c| *c == 0.0 || *c == 1.0);
    // Probability of class 1 (two classes), for interpolating the crossing.
    let p1 = |i: usize, j: usize| {
        let k = j * nx + i;
        if s.class[k] == 1.0 {
            s.value[k]
        } else {
            1.0 - s.value[k]
        }
    };
    let (dx, dy) = ((s.x[1] - s.x[0]) / nx as f64, (s.y[1] - s.y[0]) / ny as f64);
    let centre = |i: usize, j: usize| [s.x[0] + (i as f64 + 0.5) * dx, s.y[0] + (j as f64 + 0.5) * dy];
    let crossing = |a: (usize, usize), b: (usize, usize)| {
        let t = if two_classes {
            let (pa, pb) = (p1(a.0, a.1), p1(b.0, b.1));
            if (pb - pa).abs() > 1e-12 {
                ((0.5 - pa) / (pb - pa)).clamp(0.0, 1.0)
            } else {
                0.5
            }
        } else {
            0.5
        };
        let (ca, cb) = (centre(a.0, a.1), centre(b.0, b.1));
        [ca[0] + t * (cb[0] - ca[0]), ca[1] + t * (cb[1] - ca[1])]
    };
    let position = |n: Node| match n {
        Node::Across(i, j) => crossing((i, j), (i + 1, j)),
        Node::Up(i, j) => crossing((i, j), (i, j + 1)),
        Node::Centre(i, j) => {
            let (a, b) = (centre(i, j), centre(i + 1, j + 1));
            [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
        }
    };
    let mut links: HashMap<Node, Vec<Node>> = HashMap::new();
    let mut link = |a: Node, b: Node| {
        links.entry(a).or_default().push(b);
        links.entry(b).or_default().push(a);
    };
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            // The square's sides, in order around it: bottom, right, top, left.
            let sides = [
                (Node::Across(i, j), class(i, j) != class(i + 1, j)),
                (Node::Up(i + 1, j), class(i + 1, j) != class(i + 1, j + 1)),
                (Node::Across(i, j + 1), class(i, j + 1) != class(i + 1, j + 1)),
                (Node::Up(i, j), class(i, j) != class(i, j + 1)),
            ];
            let crossed: Vec<Node> = sides.iter().filter(|(_, c)| *c).map(|(n, _)| *n).collect();
            match crossed.len() {
                2 => link(crossed[0], crossed[1]),
                // A saddle: pair each side with the next one around the square.
                4 => {
                    link(crossed[0], crossed[1]);
                    link(crossed[2], crossed[3]);
                }
                // Three classes meet (or an odd count): through the square's centre.
                n if n > 0 => crossed.iter().for_each(|c| link(*c, Node::Centre(i, j))),
                _ => {}
            }
        }
    }
    // Walk the graph into polylines: from every loose end first, then around loops.
    let mut used: HashSet<(Node, Node)> = HashSet::new();
    let mut lines = Vec::new();
    // Sorted, so that the same surface always gives the same polylines.
    let mut starts: Vec<Node> = links.iter().filter(|(_, l)| l.len() != 2).map(|(n, _)| *n).collect();
    starts.sort();
    let mut rest: Vec<Node> = links.keys().copied().collect();
    rest.sort();
    starts.extend(rest);
    for start in starts {
        while let Some(&next) = links[&start].iter().find(|&&b| !used.contains(&(start, b))) {
            let mut line = vec![position(start)];
            let (mut from, mut at) = (start, next);
            loop {
                used.insert((from, at));
                used.insert((at, from));
                line.push(position(at));
                let Some(&onward) = links[&at].iter().find(|&&b| !used.contains(&(at, b))) else {
                    break;
                };
                if links[&at].len() != 2 {
                    break; // a junction: the next line starts here
                }
                (from, at) = (at, onward);
            }
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A surface of `nx × ny` cells over [-1, 1]² classifying by `f` (class, prob).
    fn surface(nx: usize, ny: usize, f: impl Fn(f64, f64) -> (f64, f64)) -> Surface {
        let (mut class, mut value) = (Vec::new(), Vec::new());
        for j in 0..ny {
            for i in 0..nx {
                let (x, y) =
                    (-1.0 + (i as f64 + 0.5) * 2.0 / nx as f64, -1.0 + (j as f64 + 0.5) * 2.0 / ny as f64);
                let (c, p) = f(x, y);
                class.push(c);
                value.push(p);
            }
        }
        Surface { x: [-1.0, 1.0], y: [-1.0, 1.0], nx, ny, class: class.into(), value: value.into() }
    }

    #[test]
    fn a_logistic_boundary_is_found_where_the_probability_is_one_half() {
        // p(class 1) = σ(4(x + 0.5y − 0.1)): the boundary is the line x + 0.5y = 0.1.
        let s = surface(40, 30, |x, y| {
            let p = 1.0 / (1.0 + (-4.0 * (x + 0.5 * y - 0.1)).exp());
            if p >= 0.5 {
                (1.0, p)
            } else {
                (0.0, 1.0 - p)
            }
        });
        let lines = boundaries(&s);
        assert_eq!(lines.len(), 1, "one connected boundary");
        let points = &lines[0];
        assert!(points.len() > 25, "it runs across the plot ({} points)", points.len());
        for p in points {
            // Linear interpolation of a logistic curve over one cell: within 1e-3.
            assert!((p[0] + 0.5 * p[1] - 0.1).abs() < 1e-3, "{p:?} is off the line");
        }
    }

    #[test]
    fn three_classes_meet_in_one_junction() {
        // Three sectors around the origin.
        let s = surface(30, 30, |x, y| {
            let a = y.atan2(x);
            let c = if a < -1.0 {
                0.0
            } else if a < 1.5 {
                1.0
            } else {
                2.0
            };
            (c, 0.9)
        });
        let lines = boundaries(&s);
        assert_eq!(lines.len(), 3, "three boundaries from the junction");
        for l in &lines {
            let near_origin = l.iter().any(|p| p[0].abs() < 0.1 && p[1].abs() < 0.1);
            assert!(near_origin, "each starts at the junction");
        }
    }

    #[test]
    fn one_class_or_one_row_has_no_boundary() {
        assert!(boundaries(&surface(10, 10, |_, _| (1.0, 0.8))).is_empty());
        assert!(boundaries(&surface(10, 1, |x, _| (if x > 0.0 { 1.0 } else { 0.0 }, 0.9))).is_empty());
    }
}
