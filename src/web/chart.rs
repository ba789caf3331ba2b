//! Bar charts drawn on the server: the geometry of each bar, axis tick and
//! label is computed here, so templates only emit `<rect>` and `<text>`
//! elements and pages need no script and no unescaped markup.

/// The SVG user-space size; the CSS scales the chart to its container.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 220.0;
/// Room for the y-axis labels on the left.
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
/// Room for the x-axis labels below the baseline.
const BOTTOM: f64 = 26.0;
/// Share of each slot a bar fills; the rest is the gap between bars.
const BAR_SHARE: f64 = 0.7;
/// At most this many x-axis labels, so that they never overlap.
const MAX_X_LABELS: usize = 7;

/// One bar, in SVG user units.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub value: i64,
    pub label: String,
    /// The centre of the bar, where its x-axis label is anchored.
    pub label_x: f64,
    /// Whether its label is drawn under the axis (every bar keeps its
    /// label in its tooltip and in the data table).
    pub show_label: bool,
}

/// A horizontal grid line with its value on the y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub label: String,
}

/// A bar chart ready for a template.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    /// The top of the y axis, a round number at or above the largest value.
    pub max: i64,
    pub max_label: String,
    pub ticks: Vec<Tick>,
    /// The baseline and the left end of the x axis.
    pub baseline_y: f64,
    pub axis_left: f64,
    pub axis_right: f64,
    /// Where x-axis labels sit.
    pub label_y: f64,
    /// Where y-axis labels end (they are right-aligned to it).
    pub tick_label_x: f64,
    pub total: i64,
}

/// Rounds to one decimal: enough for a crisp chart, and short in the markup.
fn r(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `value`, so the top grid line
/// carries a number people read at a glance.
pub fn nice_ceiling(value: i64) -> i64 {
    if value <= 1 {
        return 1;
    }
    let mut magnitude: i64 = 1;
    loop {
        for step in [1, 2, 5] {
            let candidate = step * magnitude;
            if candidate >= value {
                return candidate;
            }
        }
        match magnitude.checked_mul(10) {
            Some(m) => magnitude = m,
            None => return value,
        }
    }
}

impl BarChart {
    /// A chart of `data` (label, value), one bar each, left to right.
    /// Negative values are drawn as zero.
    pub fn new(title: impl Into<String>, data: Vec<(String, i64)>) -> Self {
        let values: Vec<i64> = data.iter().map(|(_, v)| (*v).max(0)).collect();
        let max = nice_ceiling(values.iter().copied().max().unwrap_or(0));
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let baseline_y = TOP + plot_height;
        let n = data.len();
        let slot = if n == 0 { plot_width } else { plot_width / n as f64 };
        let bar_width = slot * BAR_SHARE;
        let every = n.div_ceil(MAX_X_LABELS).max(1);
        let bars = data
            .into_iter()
            .zip(values.iter().copied())
            .enumerate()
            .map(|(i, ((label, _), value))| {
                let mut height = value as f64 / max as f64 * plot_height;
                // A value above zero always shows, however small beside the top.
                if value > 0 {
                    height = height.max(1.0);
                }
                let x = LEFT + slot * i as f64 + (slot - bar_width) / 2.0;
                // Count labels back from the last bar, which is always shown:
                // it is "today" on a daily chart.
                let show_label = (n - 1 - i).is_multiple_of(every);
                Bar {
                    x: r(x),
                    y: r(baseline_y - height),
                    width: r(bar_width),
                    height: r(height),
                    value,
                    label,
                    label_x: r(x + bar_width / 2.0),
                    show_label,
                }
            })
            .collect();
        let mut ticks = vec![Tick { y: r(baseline_y), label: "0".into() }];
        if max >= 2 && max % 2 == 0 {
            ticks.push(Tick { y: r(TOP + plot_height / 2.0), label: (max / 2).to_string() });
        }
        ticks.push(Tick { y: r(TOP), label: max.to_string() });
        Self {
            title: title.into(),
            width: WIDTH,
            height: HEIGHT,
            bars,
            max,
            max_label: max.to_string(),
            ticks,
            baseline_y: r(baseline_y),
            axis_left: LEFT,
            axis_right: WIDTH - RIGHT,
            label_y: r(baseline_y + BOTTOM - 8.0),
            tick_label_x: LEFT - 6.0,
            total: values.iter().sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `viewBox` attribute.
    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(values: &[i64]) -> Vec<(String, i64)> {
        values.iter().enumerate().map(|(i, v)| (format!("d{i}"), *v)).collect()
    }

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_largest_value() {
        let cases = [(0, 1), (1, 1), (2, 2), (3, 5), (5, 5), (6, 10), (11, 20), (20, 20), (21, 50), (501, 1000)];
        for (value, expected) in cases {
            assert_eq!(nice_ceiling(value), expected, "nice_ceiling({value})");
        }
        assert_eq!(nice_ceiling(i64::MAX), i64::MAX);
    }

    #[test]
    fn bar_heights_are_proportional_and_stand_on_the_baseline() {
        let chart = BarChart::new("t", data(&[10, 5, 0]));
        assert_eq!(chart.max, 10);
        assert_eq!(chart.max_label, "10");
        let plot_height = HEIGHT - TOP - BOTTOM;
        assert_eq!(chart.bars[0].height, r(plot_height));
        assert_eq!(chart.bars[1].height, r(plot_height / 2.0));
        assert_eq!(chart.bars[2].height, 0.0);
        for bar in &chart.bars {
            assert!((bar.y + bar.height - chart.baseline_y).abs() < 0.11, "{bar:?} stands on the baseline");
        }
        assert_eq!(chart.total, 15);
    }

    #[test]
    fn bars_fit_inside_the_plot_in_order_without_overlapping() {
        let chart = BarChart::new("t", data(&[1; 30]));
        assert_eq!(chart.bars.len(), 30);
        assert!(chart.bars[0].x >= chart.axis_left);
        let last = chart.bars.last().unwrap();
        assert!(last.x + last.width <= chart.axis_right + 0.1);
        for pair in chart.bars.windows(2) {
            assert!(pair[0].x + pair[0].width < pair[1].x, "{pair:?}");
        }
    }

    #[test]
    fn a_tiny_value_beside_a_large_one_still_shows() {
        let chart = BarChart::new("t", data(&[1000, 1]));
        assert!(chart.bars[1].height >= 1.0);
    }

    #[test]
    fn negative_values_are_drawn_as_zero() {
        let chart = BarChart::new("t", data(&[-4, 2]));
        assert_eq!(chart.bars[0].value, 0);
        assert_eq!(chart.bars[0].height, 0.0);
        assert_eq!(chart.total, 2);
    }

    #[test]
    fn x_labels_are_thinned_but_the_last_one_is_always_shown() {
        let chart = BarChart::new("t", data(&[0; 30]));
        let shown: Vec<usize> = chart.bars.iter().enumerate().filter(|(_, b)| b.show_label).map(|(i, _)| i).collect();
        assert!(shown.len() <= MAX_X_LABELS, "{shown:?}");
        assert_eq!(shown.last(), Some(&29));
        let few = BarChart::new("t", data(&[0; 3]));
        assert!(few.bars.iter().all(|b| b.show_label));
    }

    #[test]
    fn ticks_mark_zero_the_top_and_an_even_middle() {
        let chart = BarChart::new("t", data(&[7]));
        let labels: Vec<&str> = chart.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["0", "5", "10"]);
        let odd = BarChart::new("t", data(&[1]));
        let labels: Vec<&str> = odd.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["0", "1"]);
    }

    #[test]
    fn an_empty_chart_has_no_bars_and_a_unit_axis() {
        let chart = BarChart::new("t", Vec::new());
        assert!(chart.bars.is_empty() && chart.is_empty());
        assert_eq!(chart.max, 1);
        assert_eq!(chart.view_box(), "0 0 640 220");
    }
}
