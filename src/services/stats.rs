//! The numbers of a program's admin page: participants, counted clicks per
//! day, referrals by stage, the top participants and the latest referrals.
//! Days are UTC days of the injected clock's "now", which callers pass in.

use std::collections::{BTreeMap, HashMap};

use time::{Date, Duration, PrimitiveDateTime, Time};

use crate::domain::program::Stage;
use crate::storage::links::{self, LinkRow};
use crate::storage::participants::{self, ParticipantRow};
use crate::storage::referrals::{self, ReferralRow};
use crate::storage::{Db, DbConnection, StorageResult, clicks};

use super::ServiceResult;
use super::programs::Program;

/// How many days the clicks chart covers, today included.
pub const CHART_DAYS: i64 = 30;
/// How many participants the leaderboard shows.
pub const TOP_PARTICIPANTS: usize = 10;
/// How many referrals the "recent" list shows.
pub const RECENT_REFERRALS: i64 = 10;

/// Referrals of a program by their current stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub lead: i64,
    pub qualified: i64,
    pub opportunity: i64,
    pub won: i64,
    /// Rejected, refunded, or any other end a referral came to.
    pub ended: i64,
}

impl StageCounts {
    fn from_rows(rows: Vec<(String, i64)>) -> Self {
        let mut counts = Self::default();
        for (stage, n) in rows {
            match Stage::parse(&stage) {
                Some(Stage::Lead) => counts.lead += n,
                Some(Stage::Qualified) => counts.qualified += n,
                Some(Stage::Opportunity) => counts.opportunity += n,
                Some(Stage::Won) => counts.won += n,
                None => counts.ended += n,
            }
        }
        counts
    }

    pub fn total(&self) -> i64 {
        self.lead + self.qualified + self.opportunity + self.won + self.ended
    }
}

/// A participant on the leaderboard.
#[derive(Debug, Clone)]
pub struct TopParticipant {
    pub participant: ParticipantRow,
    /// Their first active link, if any.
    pub link: Option<LinkRow>,
    pub clicks: i64,
    pub referrals: i64,
}

/// A recent referral with the name of the participant who referred.
#[derive(Debug, Clone)]
pub struct RecentReferral {
    pub referral: ReferralRow,
    pub referrer_name: String,
    pub referrer_email: String,
}

/// The program's funnel: counted clicks, then referrals that reached
/// each stage (skipped stages count as passed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    pub clicks: i64,
    pub lead: i64,
    pub qualified: i64,
    pub opportunity: i64,
    pub won: i64,
}

impl Funnel {
    /// (step, count, share of the step before in whole percent; `None` for
    /// the first step or when the step before is empty).
    pub fn steps(&self) -> Vec<(&'static str, i64, Option<i64>)> {
        let counts = [
            ("clicks", self.clicks),
            ("leads", self.lead),
            ("qualified", self.qualified),
            ("opportunities", self.opportunity),
            ("won", self.won),
        ];
        let mut steps = Vec::with_capacity(counts.len());
        let mut before: Option<i64> = None;
        for (label, count) in counts {
            let share = before.filter(|b| *b > 0).map(|b| (count * 100 + b / 2) / b);
            steps.push((label, count, share));
            before = Some(count);
        }
        steps
    }
}

/// Everything the program page shows.
#[derive(Debug, Clone)]
pub struct ProgramStats {
    pub participants: i64,
    pub funnel: Funnel,
    /// Counted clicks (no bots, no duplicates) per UTC day, oldest first,
    /// [`CHART_DAYS`] entries ending today.
    pub clicks_per_day: Vec<(Date, i64)>,
    pub stages: StageCounts,
    pub top: Vec<TopParticipant>,
    pub recent: Vec<RecentReferral>,
}

impl ProgramStats {
    /// Counted clicks over the chart's days.
    pub fn clicks_in_chart(&self) -> i64 {
        self.clicks_per_day.iter().map(|(_, n)| n).sum()
    }
}

/// The UTC days of the chart, oldest first, ending on `now`'s day.
pub fn chart_days(now: PrimitiveDateTime) -> Vec<Date> {
    let today = now.date();
    (0..CHART_DAYS).rev().map(|back| today - Duration::days(back)).collect()
}

/// The count of each of `days` from per-day `counts` (a day without a row
/// is 0); counts of other days are ignored.
pub fn fill_days(days: &[Date], counts: &[(Date, i64)]) -> Vec<(Date, i64)> {
    let mut filled: BTreeMap<Date, i64> = days.iter().map(|d| (*d, 0)).collect();
    for (day, n) in counts {
        if let Some(slot) = filled.get_mut(day) {
            *slot += n;
        }
    }
    filled.into_iter().collect()
}

/// Participants ordered for the leaderboard: most counted clicks first,
/// then most referrals, then by id so that the order is stable.
pub fn rank_participants(
    clicks: &[(String, i64)],
    referrals: &[(String, i64)],
    limit: usize,
) -> Vec<(String, i64, i64)> {
    let mut merged: HashMap<&str, (i64, i64)> = HashMap::new();
    for (id, n) in clicks {
        merged.entry(id).or_default().0 += n;
    }
    for (id, n) in referrals {
        merged.entry(id).or_default().1 += n;
    }
    let mut ranked: Vec<(String, i64, i64)> = merged.into_iter().map(|(id, (c, r))| (id.to_string(), c, r)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    ranked
}

fn load(conn: &mut DbConnection, program_id: &str, now: PrimitiveDateTime) -> StorageResult<ProgramStats> {
    let days = chart_days(now);
    let since = PrimitiveDateTime::new(days[0], Time::MIDNIGHT);
    let clicks_per_day = fill_days(&days, &clicks::counted_per_day_for_program(conn, program_id, since.date())?);

    let stages = StageCounts::from_rows(referrals::stage_counts_for_program(conn, program_id)?);
    let ranked = rank_participants(
        &clicks::counted_by_participant(conn, program_id)?,
        &referrals::counts_by_participant(conn, program_id)?,
        TOP_PARTICIPANTS,
    );
    let ids: Vec<String> = ranked.iter().map(|(id, _, _)| id.clone()).collect();
    let mut primary = links::primary_for(conn, &ids)?;
    let mut top = Vec::with_capacity(ranked.len());
    for (id, clicks, referrals) in ranked {
        // At most ten lookups by primary key; a participant deleted since
        // their clicks were counted is left out.
        let Some(participant) = participants::find(conn, &id)? else { continue };
        let link = primary.iter().position(|l| l.participant_id == id).map(|p| primary.swap_remove(p));
        top.push(TopParticipant { participant, link, clicks, referrals });
    }

    let mut names: HashMap<String, (String, String)> = HashMap::new();
    let mut recent = Vec::new();
    for referral in referrals::recent_for_program(conn, program_id, RECENT_REFERRALS)? {
        if !names.contains_key(&referral.participant_id)
            && let Some(p) = participants::find(conn, &referral.participant_id)?
        {
            names.insert(p.id.clone(), (p.name, p.email));
        }
        let (referrer_name, referrer_email) = names.get(&referral.participant_id).cloned().unwrap_or_default();
        recent.push(RecentReferral { referral, referrer_name, referrer_email });
    }

    let (lead, qualified, opportunity, won) = referrals::funnel_for_program(conn, program_id)?;
    let funnel = Funnel { clicks: clicks::counted_for_program(conn, program_id)?, lead, qualified, opportunity, won };
    Ok(ProgramStats {
        participants: participants::count(conn, program_id)?,
        funnel,
        clicks_per_day,
        stages,
        top,
        recent,
    })
}

/// The numbers of `program`'s page, as of `now`.
pub async fn for_program(db: &Db, program: &Program, now: PrimitiveDateTime) -> ServiceResult<ProgramStats> {
    let program_id = program.id.clone();
    Ok(db.run(move |conn| load(conn, &program_id, now)).await?)
}

/// The number of participants of each program, by program id.
pub async fn participant_counts(db: &Db, programs: &[Program]) -> ServiceResult<HashMap<String, i64>> {
    let ids: Vec<String> = programs.iter().map(|p| p.id.clone()).collect();
    Ok(db
        .run(move |conn| {
            // One indexed count per program: an installation has a handful.
            ids.into_iter()
                .map(|id| participants::count(conn, &id).map(|n| (id, n)))
                .collect::<StorageResult<HashMap<_, _>>>()
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_chart_covers_thirty_utc_days_ending_today() {
        let days = chart_days(datetime!(2026-03-01 23:59));
        assert_eq!(days.len(), 30);
        assert_eq!(days[29], time::macros::date!(2026 - 03 - 01));
        assert_eq!(days[0], time::macros::date!(2026 - 01 - 31));
    }

    #[test]
    fn every_chart_day_gets_its_count_and_other_days_are_ignored() {
        use time::macros::date;
        let days = chart_days(datetime!(2026-03-01 12:00));
        let counts = [
            (date!(2026 - 03 - 01), 2),
            (date!(2026 - 02 - 28), 1),
            (date!(2026 - 01 - 30), 5),
            (date!(2026 - 03 - 02), 7),
        ];
        let filled = fill_days(&days, &counts);
        assert_eq!(filled.len(), 30);
        assert_eq!(filled[29], (date!(2026 - 03 - 01), 2));
        assert_eq!(filled[28].1, 1);
        assert_eq!(filled[0], (date!(2026 - 01 - 31), 0), "a day without clicks is drawn as 0");
        assert_eq!(filled.iter().map(|(_, n)| n).sum::<i64>(), 3);
    }

    #[test]
    fn the_leaderboard_ranks_by_clicks_then_referrals_and_is_limited() {
        let clicks = vec![("a".to_string(), 5), ("b".to_string(), 9), ("c".to_string(), 5)];
        let referrals = vec![("c".to_string(), 2), ("d".to_string(), 4)];
        let ranked = rank_participants(&clicks, &referrals, 3);
        assert_eq!(ranked, vec![("b".to_string(), 9, 0), ("c".to_string(), 5, 2), ("a".to_string(), 5, 0)]);
    }

    #[test]
    fn funnel_steps_carry_the_share_of_the_step_before() {
        let funnel = Funnel { clicks: 200, lead: 20, qualified: 0, opportunity: 0, won: 0 };
        let steps = funnel.steps();
        assert_eq!(steps[0], ("clicks", 200, None));
        assert_eq!(steps[1], ("leads", 20, Some(10)));
        assert_eq!(steps[2], ("qualified", 0, Some(0)));
        assert_eq!(steps[3], ("opportunities", 0, None), "no share of an empty step");
    }

    #[test]
    fn stages_outside_the_funnel_count_as_ended() {
        let counts = StageCounts::from_rows(vec![
            ("lead".into(), 3),
            ("won".into(), 1),
            ("rejected".into(), 2),
            ("refunded".into(), 1),
        ]);
        assert_eq!(counts, StageCounts { lead: 3, qualified: 0, opportunity: 0, won: 1, ended: 3 });
        assert_eq!(counts.total(), 7);
    }
}
