DROP TABLE ip_salts;
DROP TABLE referrals;
DROP TABLE clicks;
DROP TABLE links;
DROP TABLE participants;
DROP TABLE programs;
