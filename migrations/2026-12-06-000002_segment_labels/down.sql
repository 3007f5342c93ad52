DROP TABLE segment_labels;
