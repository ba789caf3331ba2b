DROP TABLE coupon_codes;
DROP TABLE reward_entries;
DROP TABLE rewards;
