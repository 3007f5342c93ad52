DROP TABLE scored_rows;
DROP TABLE scorings;
