// The date-normalisation task (varscope.dates.data): determinism, disjoint splits,
// every format, weekdays and Japanese eras against independent computations
// (Zeller's congruence; era boundaries written out), the vocabulary's JSON
// round trip, and text <-> ids.
#define BOOST_TEST_MODULE data
#include "support/boost_test.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

import varscope;
import varscope.dates.data;

using namespace varscope;
using namespace varscope::data;

namespace {

// Zeller's congruence: 0 = Saturday, 1 = Sunday, ... ; converted to 0 = Sunday.
int zeller_weekday(int y, int m, int d) {
  if (m < 3) {
    m += 12;
    y -= 1;
  }
  const int k = y % 100, j = y / 100;
  const int h = (d + 13 * (m + 1) / 5 + k + k / 4 + j / 4 + 5 * j) % 7;
  return (h + 6) % 7;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int date_key(const Date& d) { return d.year * 10000 + d.month * 100 + d.day; }

}  // namespace

BOOST_AUTO_TEST_CASE(calendar_and_weekdays_match_zeller) {
  // Every day of the range: the day count round-trips and the weekday matches Zeller.
  std::int64_t z = days_from_civil(kFirstDate);
  int count = 0;
  for (int y = 1900; y <= 2099; ++y)
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= days_in_month(y, m); ++d, ++z, ++count) {
        const Date date{y, m, d};
        BOOST_TEST_REQUIRE(days_from_civil(date) == z);
        BOOST_TEST_REQUIRE((civil_from_days(z) == date));
        BOOST_TEST_REQUIRE(weekday(date) == zeller_weekday(y, m, d), iso(date));
      }
  BOOST_TEST(count == 73049);  // 200 years, 49 leap years (2000 is one, 1900 is not)
  BOOST_TEST(days_in_month(1900, 2) == 28);
  BOOST_TEST(days_in_month(2000, 2) == 29);
  BOOST_TEST(format_date({2026, 12, 1}, DateFormat::weekday_long) == "Tuesday, December 1, 2026");
  BOOST_TEST(format_date({2026, 12, 1}, DateFormat::kanji_weekday) == "2026年12月1日(火)");
  BOOST_TEST(format_date({1900, 1, 1}, DateFormat::kanji_weekday) == "1900年1月1日(月)");  // a Monday
  BOOST_TEST(iso({1900, 1, 1}) == "1900-01-01");
  BOOST_CHECK_THROW((void)format_date({2026, 2, 30}, DateFormat::kanji), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(every_format_without_noise) {
  const Date d{2026, 12, 1};
  BOOST_TEST(format_date(d, DateFormat::day_month_year) == "1 December 2026");
  BOOST_TEST(format_date(d, DateFormat::month_abbrev_comma) == "Dec 1, 2026");
  BOOST_TEST(format_date(d, DateFormat::month_ordinal) == "December 1st 2026");
  BOOST_TEST(format_date(d, DateFormat::us_slash) == "12/01/2026");
  BOOST_TEST(format_date(d, DateFormat::european_dot) == "01.12.2026");
  BOOST_TEST(format_date(d, DateFormat::year_slash) == "2026/12/1");
  BOOST_TEST(format_date(d, DateFormat::kanji) == "2026年12月1日");
  BOOST_TEST(format_date(d, DateFormat::japanese_era) == "令和8年12月1日");
  BOOST_TEST(format_date({2026, 3, 2}, DateFormat::month_ordinal) == "March 2nd 2026");
  BOOST_TEST(format_date({2026, 3, 3}, DateFormat::month_ordinal) == "March 3rd 2026");
  BOOST_TEST(format_date({2026, 3, 11}, DateFormat::month_ordinal) == "March 11th 2026");
  BOOST_TEST(format_date({2026, 3, 12}, DateFormat::month_ordinal) == "March 12th 2026");
  BOOST_TEST(format_date({2026, 3, 13}, DateFormat::month_ordinal) == "March 13th 2026");
  BOOST_TEST(format_date({2026, 3, 21}, DateFormat::month_ordinal) == "March 21st 2026");
  BOOST_TEST(format_date({2026, 3, 22}, DateFormat::month_ordinal) == "March 22nd 2026");
  BOOST_TEST(format_date({2026, 3, 31}, DateFormat::month_ordinal) == "March 31st 2026");
}

BOOST_AUTO_TEST_CASE(japanese_eras_at_their_boundaries) {
  // Written out: Showa ended 1989-01-07; Heisei 1989-01-08 .. 2019-04-30; Reiwa from 2019-05-01.
  BOOST_TEST(japanese_era({1989, 1, 7}).era.empty());
  BOOST_TEST(format_date({1989, 1, 7}, DateFormat::japanese_era) == "1989年1月7日");  // Gregorian fallback
  BOOST_TEST(format_date({1989, 1, 8}, DateFormat::japanese_era) == "平成元年1月8日");
  BOOST_TEST(format_date({1989, 12, 31}, DateFormat::japanese_era) == "平成元年12月31日");
  BOOST_TEST(format_date({1990, 1, 1}, DateFormat::japanese_era) == "平成2年1月1日");
  BOOST_TEST(format_date({2019, 4, 30}, DateFormat::japanese_era) == "平成31年4月30日");
  BOOST_TEST(format_date({2019, 5, 1}, DateFormat::japanese_era) == "令和元年5月1日");
  BOOST_TEST(format_date({2019, 12, 31}, DateFormat::japanese_era) == "令和元年12月31日");
  BOOST_TEST(format_date({2020, 1, 1}, DateFormat::japanese_era) == "令和2年1月1日");
  BOOST_TEST(format_date({2099, 12, 31}, DateFormat::japanese_era) == "令和81年12月31日");
  BOOST_TEST(format_date({1900, 1, 1}, DateFormat::japanese_era) == "1900年1月1日");
  // Every day: era year = Gregorian year - offset, inside the written-out ranges.
  for (auto z = days_from_civil(kFirstDate); z <= days_from_civil(kLastDate); ++z) {
    const Date d = civil_from_days(z);
    const int key = date_key(d);
    const EraDate e = japanese_era(d);
    if (key < 19890108) BOOST_TEST_REQUIRE(e.era.empty());
    else if (key <= 20190430) BOOST_TEST_REQUIRE((e.era == "平成" && e.year == d.year - 1988));
    else BOOST_TEST_REQUIRE((e.era == "令和" && e.year == d.year - 2018));
  }
}

BOOST_AUTO_TEST_CASE(same_seed_same_samples_other_seed_other_samples) {
  DateTask a(7), b(7), c(8);
  const auto sa = a.samples(Split::train, 200), sb = b.samples(Split::train, 200), sc = c.samples(Split::train, 200);
  int differ = 0;
  for (std::size_t i = 0; i < sa.size(); ++i) {
    BOOST_TEST(sa[i].source == sb[i].source);
    BOOST_TEST(sa[i].target == sb[i].target);
    differ += sa[i].source != sc[i].source;
  }
  BOOST_TEST(differ > 150);
  // The fixed sets do not depend on the task's draws.
  const auto f1 = DateTask::fixed_set(Split::test, 50), f2 = DateTask::fixed_set(Split::test, 50);
  for (std::size_t i = 0; i < f1.size(); ++i) BOOST_TEST(f1[i].source == f2[i].source);
}

BOOST_AUTO_TEST_CASE(the_task_draws_with_the_one_sampler) {
  // DateTask::sample is draw_sample over the split's dates with the split's generator
  // (seeded mix_seed(seed, split + 1)): the model's training batches draw the same way.
  for (const Split split : {Split::train, Split::validation, Split::test}) {
    DateTask task(11);
    const auto pool = dates_of(split);
    Rng rng(mix_seed(11, static_cast<std::uint64_t>(split) + 1));
    for (int i = 0; i < 50; ++i) {
      const DateSample a = task.sample(split), b = draw_sample(pool, rng);
      BOOST_TEST_REQUIRE(a.source == b.source);
      BOOST_TEST_REQUIRE(a.target == b.target);
      BOOST_TEST_REQUIRE((a.format == b.format));
    }
  }
  // One date in the pool: every draw is that date, in some format.
  Rng rng(3);
  const std::vector<Date> one{{2026, 12, 1}};
  for (int i = 0; i < 20; ++i) BOOST_TEST(draw_sample(one, rng).target == "2026-12-01");
  BOOST_CHECK_THROW((void)draw_sample({}, rng), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(splits_are_disjoint_by_date) {
  const auto train = dates_of(Split::train), valid = dates_of(Split::validation), test = dates_of(Split::test);
  BOOST_TEST(train.size() + valid.size() + test.size() == 73049u);
  BOOST_TEST(test.size() > 6000u);  // ~10%
  BOOST_TEST(valid.size() > 6000u);
  std::set<int> tr, va, te;
  for (const auto& d : train) tr.insert(date_key(d));
  for (const auto& d : valid) va.insert(date_key(d));
  for (const auto& d : test) te.insert(date_key(d));
  for (int k : va) BOOST_TEST_REQUIRE(!tr.count(k));
  for (int k : te) BOOST_TEST_REQUIRE((!tr.count(k) && !va.count(k)));
  // Sampled dates stay in their split, for any seed.
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    DateTask task(seed);
    for (const auto& s : task.samples(Split::test, 300)) BOOST_TEST_REQUIRE(te.count(date_key(s.date)));
    for (const auto& s : task.samples(Split::train, 300)) BOOST_TEST_REQUIRE(tr.count(date_key(s.date)));
  }
}

BOOST_AUTO_TEST_CASE(every_format_appears_with_noise_and_the_right_target) {
  DateTask task(3);
  std::set<int> formats;
  bool lower = false, upper = false, extra_space = false;
  for (const auto& s : task.samples(Split::train, 3000)) {
    formats.insert(static_cast<int>(s.format));
    BOOST_TEST_REQUIRE(s.target == iso(s.date));
    BOOST_TEST_REQUIRE(s.date.year >= 1900);
    BOOST_TEST_REQUIRE(s.date.year <= 2099);
    // The year always appears in the source (era years aside).
    if (s.format != DateFormat::japanese_era) BOOST_TEST_REQUIRE(contains(s.source, std::to_string(s.date.year)), s.source);
    if (s.format == DateFormat::weekday_long) {
      std::string wd[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
      std::string low = s.source;
      std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      BOOST_TEST_REQUIRE(contains(low, wd[zeller_weekday(s.date.year, s.date.month, s.date.day)]), s.source);
      lower = lower || (contains(s.source, "day,") && s.source.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
      upper = upper || s.source.find_first_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos;
    }
    if (s.format == DateFormat::kanji_weekday) {
      const char* kanji[] = {"日)", "月)", "火)", "水)", "木)", "金)", "土)"};
      BOOST_TEST_REQUIRE(contains(s.source, kanji[zeller_weekday(s.date.year, s.date.month, s.date.day)]), s.source);
    }
    extra_space = extra_space || contains(s.source, "  ") || s.source.front() == ' ';
  }
  BOOST_TEST(formats.size() == static_cast<std::size_t>(kDateFormatCount));
  BOOST_TEST(lower);
  BOOST_TEST(upper);
  BOOST_TEST(extra_space);
}

BOOST_AUTO_TEST_CASE(vocabulary_round_trip_and_encoding) {
  const Vocabulary& v = Vocabulary::dates();
  BOOST_TEST(v.size() > 70);
  const Vocabulary back = Vocabulary::from_json(v.to_json());
  BOOST_TEST((back == v));
  BOOST_TEST(back.size() == v.size());
  // Every generated character is in the vocabulary (no UNK in sources or targets).
  DateTask task(5);
  for (const auto& s : task.samples(Split::train, 2000)) {
    for (auto id : v.encode(s.source)) BOOST_TEST_REQUIRE(id != Vocabulary::kUnk, s.source);
    BOOST_TEST_REQUIRE(v.decode(v.encode(s.source)) == s.source);
    BOOST_TEST_REQUIRE(v.decode(v.encode(s.target)) == s.target);
  }
  const auto ids = v.encode("2026年x€");
  BOOST_TEST(ids.size() == 7u);  // code points, not bytes
  BOOST_TEST(ids[6] == Vocabulary::kUnk);  // the euro sign is unknown
  BOOST_TEST(ids[0] >= Vocabulary::kReserved);
  BOOST_TEST(v.decode({ids[0], ids[1], Vocabulary::kEos, ids[2]}) == "20");  // stops at EOS
  BOOST_TEST(v.decode({Vocabulary::kBos, ids[4], Vocabulary::kUnk}) == "年\xEF\xBF\xBD");
  BOOST_CHECK_THROW((void)v.decode({static_cast<std::int32_t>(v.size())}), InvalidArgumentError);
  BOOST_CHECK_THROW((void)v.encode("\xFF"), InvalidArgumentError);  // not UTF-8
  BOOST_CHECK_THROW((void)Vocabulary::from_json("{\"hidden\":3}"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)Vocabulary::from_json("not json"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)Vocabulary(std::vector<char32_t>{U'a', U'a'}), InvalidArgumentError);
}
