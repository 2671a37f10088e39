// varscope.dates.data — the date model's task, with no download: character-level
// date normalisation to ISO 8601 (issue 12). Not part of `import varscope;`:
// `import varscope.dates.data;` for the task alone, or `import varscope.dates;`
// (which re-exports it) for the task and the model.
//
//   data::DateTask task(/*seed=*/1);
//   auto batch = task.samples(data::Split::train, 64);   // deterministic for a seed
//   // batch[0].source = "Tuesday,  December 1, 2026", batch[0].target = "2026-12-01"
//   const auto& vocab = data::Vocabulary::dates();        // PAD/BOS/EOS/UNK + characters
//   auto ids = vocab.encode(batch[0].source);             // unknown code points -> UNK
//
// Dates are drawn uniformly from 1900-01-01 ... 2099-12-31. The split of a date
// (train / validation / test) is a fixed hash of the date, independent of the
// seed, so the splits are disjoint by date for every seed. Sources are written
// in one of the DateFormat styles with random case and spacing noise.
// The CLI, the tests and the wasm bindings all use this one generator and
// vocabulary; the model's training batches draw through draw_sample too.
module;
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
export module varscope.dates.data;
import varscope;

export namespace varscope::data {

/// A Gregorian (proleptic) calendar date.
struct Date {
  int year = 1970;
  int month = 1;  ///< 1..12
  int day = 1;    ///< 1..31
  friend bool operator==(const Date&, const Date&) = default;
};

inline constexpr Date kFirstDate{1900, 1, 1};
inline constexpr Date kLastDate{2099, 12, 31};

/// True for a real calendar date (any year).
[[nodiscard]] bool is_valid(const Date& d) noexcept;
/// Days in a month (leap years by the Gregorian rule).
[[nodiscard]] int days_in_month(int year, int month) noexcept;
/// Days since 1970-01-01 (negative before). Howard Hinnant's days_from_civil.
[[nodiscard]] std::int64_t days_from_civil(const Date& d) noexcept;
[[nodiscard]] Date civil_from_days(std::int64_t days) noexcept;
/// 0 = Sunday ... 6 = Saturday.
[[nodiscard]] int weekday(const Date& d) noexcept;
/// "2026-12-01".
[[nodiscard]] std::string iso(const Date& d);

/// A Japanese era date: 平成 (Heisei, 1989-01-08 ... 2019-04-30) or 令和 (Reiwa, from 2019-05-01).
struct EraDate {
  std::string era;  ///< "平成" or "令和"; empty outside those eras
  int year = 0;     ///< 1 = 元年
};
[[nodiscard]] EraDate japanese_era(const Date& d);

/// The source styles. `japanese_era` falls back to `kanji` outside Heisei/Reiwa.
enum class DateFormat : std::uint8_t {
  day_month_year,       ///< 1 December 2026
  month_abbrev_comma,   ///< Dec 1, 2026
  month_ordinal,        ///< december 1st 2026
  weekday_long,         ///< Tuesday, December 1, 2026
  us_slash,             ///< 12/01/2026
  european_dot,         ///< 01.12.2026
  year_slash,           ///< 2026/12/1
  kanji,                ///< 2026年12月1日
  kanji_weekday,        ///< 2026年12月1日(火)
  japanese_era,         ///< 令和8年12月1日, 平成元年1月8日
};
inline constexpr int kDateFormatCount = 10;
[[nodiscard]] std::string_view format_name(DateFormat f) noexcept;

/// The date written in `format`, without noise.
[[nodiscard]] std::string format_date(const Date& d, DateFormat format);
/// With noise drawn from `rng`: letters all lower / all upper / title / as written,
/// extra spaces between tokens and around separators, leading/trailing spaces.
[[nodiscard]] std::string format_date(const Date& d, DateFormat format, Rng& rng);

enum class Split : std::uint8_t { train, validation, test };
[[nodiscard]] std::string_view split_name(Split s) noexcept;
/// The split of a date: a fixed hash (80% / 10% / 10%), the same for every seed.
[[nodiscard]] Split split_of(const Date& d) noexcept;
/// Every date of a split in [kFirstDate, kLastDate], in order.
[[nodiscard]] std::vector<Date> dates_of(Split s);

struct DateSample {
  Date date;
  DateFormat format = DateFormat::day_month_year;
  std::string source;  ///< the noisy text
  std::string target;  ///< ISO 8601
};

/// The one sampler: a uniformly drawn date of `pool`, a uniformly drawn format, noise,
/// all from `rng` in that order. DateTask::sample draws with it from a split's generator;
/// the model's training batches (varscope.dates' training_batch) from a (seed, step) generator.
/// An empty pool is an InvalidArgumentError.
[[nodiscard]] DateSample draw_sample(const std::vector<Date>& pool, Rng& rng);

/// The seeded generator. Samples of one split depend only on (seed, split, call order).
class DateTask {
 public:
  explicit DateTask(std::uint64_t seed);
  /// A uniformly drawn date of the split, a uniformly drawn format, noise.
  [[nodiscard]] DateSample sample(Split split);
  [[nodiscard]] std::vector<DateSample> samples(Split split, std::size_t n);
  /// A fixed evaluation set: `n` samples of the split from a generator seeded by
  /// (seed, split) alone, so it does not move with training draws.
  [[nodiscard]] static std::vector<DateSample> fixed_set(Split split, std::size_t n, std::uint64_t seed = 2026);

 private:
  std::uint64_t seed_;
  std::array<Rng, 3> rngs_;
  std::array<std::vector<Date>, 3> dates_;
};

/// Decodes UTF-8 into code points. InvalidArgumentError (naming the byte offset) on bad UTF-8.
[[nodiscard]] std::vector<char32_t> utf8_decode(std::string_view text);
[[nodiscard]] std::string utf8_encode(char32_t cp);

/// A character vocabulary: ids 0..3 are PAD, BOS, EOS, UNK; then one id per code point.
class Vocabulary {
 public:
  static constexpr std::int32_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3, kReserved = 4;

  /// Code points in id order (id = kReserved + index). Duplicates are an InvalidArgumentError.
  explicit Vocabulary(std::vector<char32_t> code_points);
  /// Every character the date generator can write (sorted by code point).
  [[nodiscard]] static const Vocabulary& dates();

  [[nodiscard]] std::int64_t size() const noexcept { return kReserved + static_cast<std::int64_t>(chars_.size()); }
  [[nodiscard]] const std::vector<char32_t>& code_points() const noexcept { return chars_; }
  [[nodiscard]] std::int32_t id_of(char32_t cp) const noexcept;
  /// Text -> ids (no BOS/EOS); unknown code points -> kUnk.
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text) const;
  /// Ids -> text, stopping at the first EOS; PAD/BOS skipped, UNK as U+FFFD.
  /// An id outside [0, size()) is an InvalidArgumentError naming it.
  [[nodiscard]] std::string decode(const std::vector<std::int32_t>& ids) const;

  /// {"code_points":[...]} (JSON object text), for checkpoint metadata.
  [[nodiscard]] std::string to_json() const;
  /// Parses to_json() output (or any object with "code_points"). InvalidArgumentError when malformed.
  [[nodiscard]] static Vocabulary from_json(std::string_view json);

  friend bool operator==(const Vocabulary& a, const Vocabulary& b) noexcept { return a.chars_ == b.chars_; }

 private:
  std::vector<char32_t> chars_;
  std::vector<std::int32_t> ascii_;  // fast path for cp < 128
};

}  // namespace varscope::data
