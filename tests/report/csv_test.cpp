// RFC 4180: CRLF after every record; fields with a comma, a double quote, CR or LF quoted, quotes
// doubled; everything else as is.
#include <gtest/gtest.h>

#include "report/csv.hpp"

namespace vitsweep::report {
namespace {

TEST(Csv, PlainFieldsAreWrittenAsTheyAre) {
  EXPECT_EQ(csv_field("relu"), "relu");
  EXPECT_EQ(csv_field("0.5"), "0.5");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("with space"), "with space");
}

TEST(Csv, CommaQuoteAndLineBreaksAreQuoted) {
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("line 1\nline 2"), "\"line 1\nline 2\"");
  EXPECT_EQ(csv_field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(csv_field("\""), "\"\"\"\"");
}

TEST(Csv, RecordsEndWithCrlf) { EXPECT_EQ(csv_record({"a", "b,c", ""}), "a,\"b,c\",\r\n"); }

TEST(Csv, TableWritesNullAsEmptyAndRealsExactlyOrWithPrecision) {
  ValueTable t;
  t.columns = {"name", "n", "x"};
  t.rows = {{std::string("a,\"b\""), int64_t{3}, 0.1}, {std::monostate{}, int64_t{-1}, 2.0 / 3}};
  EXPECT_EQ(format_csv(t), "name,n,x\r\n\"a,\"\"b\"\"\",3,0.1\r\n,-1,0.6666666666666666\r\n");
  EXPECT_EQ(format_csv(t, 3), "name,n,x\r\n\"a,\"\"b\"\"\",3,0.1\r\n,-1,0.667\r\n");
}

}  // namespace
}  // namespace vitsweep::report
