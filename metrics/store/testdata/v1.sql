PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
INSERT INTO meta VALUES('schema_version','1');
INSERT INTO meta VALUES('created_by','cleval');
CREATE TABLE runs (
	id              INTEGER PRIMARY KEY,
	key             TEXT NOT NULL,
	preset          TEXT NOT NULL,
	benchmark       TEXT NOT NULL,
	strategy        TEXT NOT NULL,
	seed            INTEGER NOT NULL,
	config          TEXT NOT NULL,
	code_version    TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('running','complete','failed','interrupted','diverged')),
	error           TEXT,
	num_experiences INTEGER NOT NULL,
	eval_subset     TEXT NOT NULL,
	variants        TEXT NOT NULL,
	iterations      INTEGER NOT NULL DEFAULT 0,
	host            TEXT NOT NULL,
	pid             INTEGER NOT NULL,
	started_at      TEXT NOT NULL,
	ended_at        TEXT
);
INSERT INTO runs VALUES(1,'15a3fe6c1bb9b2b3d83c','delange-smnist-er','split-synthetic','er',0,'{"preset":"delange-smnist-er","benchmark":"split-synthetic","experiences":2,"hidden":[8],"strategy":"er","strategy_params":{"mem_size":2000,"replay_batch_size":256,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.3},"optimizer":{"lr":0.01,"momentum":0.9,"weight_decay":0},"epochs":1,"batch_size":256,"eval":{"every":1,"size":20,"subset":"fixed","experiences":"seen"},"seed":0}','0.1.0-dev','complete',NULL,2,'fixed','["live"]',8,'vm',20391,'2026-11-29T09:52:35.551632095Z','2026-11-29T09:52:35.562448771Z');
INSERT INTO runs VALUES(2,'a3e2700d1f446f6a03b9','delange-smnist-er','split-synthetic','er',1,'{"preset":"delange-smnist-er","benchmark":"split-synthetic","experiences":2,"hidden":[8],"strategy":"er","strategy_params":{"mem_size":2000,"replay_batch_size":256,"buffer":"class-balanced","update":"experience-end","loss":"weighted","lambda":0.3},"optimizer":{"lr":0.01,"momentum":0.9,"weight_decay":0},"epochs":1,"batch_size":256,"eval":{"every":1,"size":20,"subset":"fixed","experiences":"seen"},"seed":1}','0.1.0-dev','complete',NULL,2,'fixed','["live"]',8,'vm',20391,'2026-11-29T09:52:35.562755817Z','2026-11-29T09:52:35.570236208Z');
CREATE TABLE experiences (
	run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	exp           INTEGER NOT NULL,
	classes       TEXT NOT NULL,
	task          INTEGER NOT NULL,
	train_size    INTEGER NOT NULL,
	test_size     INTEGER NOT NULL,
	eval_size     INTEGER NOT NULL,
	end_iteration INTEGER,
	PRIMARY KEY (run_id, exp)
) WITHOUT ROWID;
INSERT INTO experiences VALUES(1,1,'[0,1,2,3,4]',0,1000,250,20,4);
INSERT INTO experiences VALUES(1,2,'[5,6,7,8,9]',1,1000,250,20,8);
INSERT INTO experiences VALUES(2,1,'[0,1,2,3,4]',0,1000,250,20,4);
INSERT INTO experiences VALUES(2,2,'[5,6,7,8,9]',1,1000,250,20,8);
CREATE TABLE evaluations (
	run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant      TEXT NOT NULL,
	iteration    INTEGER NOT NULL,
	eval_exp     INTEGER NOT NULL,
	training_exp INTEGER NOT NULL,
	correct      INTEGER NOT NULL,
	total        INTEGER NOT NULL,
	loss_sum     REAL NOT NULL,
	subset       TEXT NOT NULL,
	PRIMARY KEY (run_id, variant, iteration, eval_exp)
) WITHOUT ROWID;
INSERT INTO evaluations VALUES(1,'live',0,1,1,0,20,49.68222027059982082,'fixed');
INSERT INTO evaluations VALUES(1,'live',1,1,1,1,20,49.628104261085340454,'fixed');
INSERT INTO evaluations VALUES(1,'live',2,1,1,1,20,49.516020780513386513,'fixed');
INSERT INTO evaluations VALUES(1,'live',3,1,1,1,20,49.343430477401497569,'fixed');
INSERT INTO evaluations VALUES(1,'live',4,1,1,1,20,49.113741330339792056,'fixed');
INSERT INTO evaluations VALUES(1,'live',4,2,1,0,20,45.799971891452685214,'fixed');
INSERT INTO evaluations VALUES(1,'live',5,1,2,2,20,48.780720345173577356,'fixed');
INSERT INTO evaluations VALUES(1,'live',5,2,2,0,20,45.897721070964593082,'fixed');
INSERT INTO evaluations VALUES(1,'live',6,1,2,2,20,48.314023848448115925,'fixed');
INSERT INTO evaluations VALUES(1,'live',6,2,2,0,20,45.972992790993735924,'fixed');
INSERT INTO evaluations VALUES(1,'live',7,1,2,2,20,47.787975637419251029,'fixed');
INSERT INTO evaluations VALUES(1,'live',7,2,2,0,20,46.047267276079388411,'fixed');
INSERT INTO evaluations VALUES(1,'live',8,1,2,2,20,47.210433507225850746,'fixed');
INSERT INTO evaluations VALUES(1,'live',8,2,2,0,20,46.117701971012735385,'fixed');
INSERT INTO evaluations VALUES(2,'live',0,1,1,2,20,46.075986772977948644,'fixed');
INSERT INTO evaluations VALUES(2,'live',1,1,1,2,20,46.038403692277931611,'fixed');
INSERT INTO evaluations VALUES(2,'live',2,1,1,2,20,45.965121359190142412,'fixed');
INSERT INTO evaluations VALUES(2,'live',3,1,1,2,20,45.858722025957881383,'fixed');
INSERT INTO evaluations VALUES(2,'live',4,1,1,2,20,45.728026891559743205,'fixed');
INSERT INTO evaluations VALUES(2,'live',4,2,1,0,20,45.727400681127143402,'fixed');
INSERT INTO evaluations VALUES(2,'live',5,1,2,2,20,45.530406659381966959,'fixed');
INSERT INTO evaluations VALUES(2,'live',5,2,2,0,20,45.725380113041950379,'fixed');
INSERT INTO evaluations VALUES(2,'live',6,1,2,2,20,45.28867425170172112,'fixed');
INSERT INTO evaluations VALUES(2,'live',6,2,2,0,20,45.717655295322281007,'fixed');
INSERT INTO evaluations VALUES(2,'live',7,1,2,2,20,45.017087907069779362,'fixed');
INSERT INTO evaluations VALUES(2,'live',7,2,2,0,20,45.711193507057615191,'fixed');
INSERT INTO evaluations VALUES(2,'live',8,1,2,2,20,44.712047685067069836,'fixed');
INSERT INTO evaluations VALUES(2,'live',8,2,2,0,20,45.704184234883165061,'fixed');
CREATE TABLE accuracy_matrix (
	run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant  TEXT NOT NULL,
	row_exp  INTEGER NOT NULL,
	col_exp  INTEGER NOT NULL,
	correct  INTEGER NOT NULL,
	total    INTEGER NOT NULL,
	loss_sum REAL NOT NULL,
	PRIMARY KEY (run_id, variant, row_exp, col_exp)
) WITHOUT ROWID;
INSERT INTO accuracy_matrix VALUES(1,'live',0,1,23,250,571.26400257636180415);
INSERT INTO accuracy_matrix VALUES(1,'live',0,2,0,250,578.10470360480996987);
INSERT INTO accuracy_matrix VALUES(1,'live',1,1,39,250,564.23195298160806034);
INSERT INTO accuracy_matrix VALUES(1,'live',1,2,0,250,581.6646788626003399);
INSERT INTO accuracy_matrix VALUES(1,'live',2,1,52,250,544.020099732747326);
INSERT INTO accuracy_matrix VALUES(1,'live',2,2,0,250,585.49307798934341917);
INSERT INTO accuracy_matrix VALUES(2,'live',0,1,50,250,571.69254097711234407);
INSERT INTO accuracy_matrix VALUES(2,'live',0,2,0,250,581.749473151211987);
INSERT INTO accuracy_matrix VALUES(2,'live',1,1,50,250,567.11006307529112291);
INSERT INTO accuracy_matrix VALUES(2,'live',1,2,0,250,583.14526506491120017);
INSERT INTO accuracy_matrix VALUES(2,'live',2,1,50,250,554.81756190524856718);
INSERT INTO accuracy_matrix VALUES(2,'live',2,2,0,250,585.76549027731402929);
CREATE TABLE metrics (
	run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant TEXT NOT NULL,
	name    TEXT NOT NULL,
	k       INTEGER NOT NULL DEFAULT 0,
	j       INTEGER NOT NULL DEFAULT 0,
	value   REAL,
	PRIMARY KEY (run_id, variant, name, k, j)
) WITHOUT ROWID;
INSERT INTO metrics VALUES(1,'live','aaa',0,0,0.044444444444444439201);
INSERT INTO metrics VALUES(1,'live','aaa_iter',0,0,0.044444444444444439201);
INSERT INTO metrics VALUES(1,'live','acc',0,0,0.10399999999999999522);
INSERT INTO metrics VALUES(1,'live','acc_sw',0,0,0.10399999999999999522);
INSERT INTO metrics VALUES(1,'live','avg_inc_acc',0,0,0.13000000000000000444);
INSERT INTO metrics VALUES(1,'live','bwt',0,0,0.051999999999999990674);
INSERT INTO metrics VALUES(1,'live','forgetting_first',0,0,-0.051999999999999990674);
INSERT INTO metrics VALUES(1,'live','forgetting_max',0,0,-0.051999999999999990674);
INSERT INTO metrics VALUES(1,'live','fwt',0,0,0.0);
INSERT INTO metrics VALUES(1,'live','gap_area',1,2,0.0);
INSERT INTO metrics VALUES(1,'live','gap_area_mean',0,0,0.0);
INSERT INTO metrics VALUES(1,'live','gap_depth',1,2,-0.050000000000000002775);
INSERT INTO metrics VALUES(1,'live','gap_depth_max',0,0,-0.050000000000000002775);
INSERT INTO metrics VALUES(1,'live','gap_depth_mean',0,0,-0.050000000000000002775);
INSERT INTO metrics VALUES(1,'live','gap_r90',1,2,1.0);
INSERT INTO metrics VALUES(1,'live','gap_r90_mean',0,0,1.0);
INSERT INTO metrics VALUES(1,'live','gap_recovery',1,2,1.0);
INSERT INTO metrics VALUES(1,'live','gap_time_to_trough',1,2,1.0);
INSERT INTO metrics VALUES(1,'live','gap_time_to_trough_mean',0,0,1.0);
INSERT INTO metrics VALUES(1,'live','lca10',0,0,NULL);
INSERT INTO metrics VALUES(1,'live','min_acc',0,0,0.10000000000000000555);
INSERT INTO metrics VALUES(1,'live','min_acc',1,0,0.10000000000000000555);
INSERT INTO metrics VALUES(1,'live','wc_acc',0,0,0.050000000000000002775);
INSERT INTO metrics VALUES(1,'live','wf10',0,0,0.0);
INSERT INTO metrics VALUES(1,'live','wf100',0,0,0.0);
INSERT INTO metrics VALUES(1,'live','wp10',0,0,0.050000000000000002775);
INSERT INTO metrics VALUES(1,'live','wp100',0,0,0.050000000000000002775);
INSERT INTO metrics VALUES(2,'live','aaa',0,0,0.077777777777777792889);
INSERT INTO metrics VALUES(2,'live','aaa_iter',0,0,0.077777777777777792889);
INSERT INTO metrics VALUES(2,'live','acc',0,0,0.10000000000000000555);
INSERT INTO metrics VALUES(2,'live','acc_sw',0,0,0.10000000000000000555);
INSERT INTO metrics VALUES(2,'live','avg_inc_acc',0,0,0.1500000000000000222);
INSERT INTO metrics VALUES(2,'live','bwt',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','forgetting_first',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','forgetting_max',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','fwt',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','gap_area',1,2,0.0);
INSERT INTO metrics VALUES(2,'live','gap_area_mean',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','gap_depth',1,2,0.0);
INSERT INTO metrics VALUES(2,'live','gap_depth_max',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','gap_depth_mean',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','gap_r90',1,2,1.0);
INSERT INTO metrics VALUES(2,'live','gap_r90_mean',0,0,1.0);
INSERT INTO metrics VALUES(2,'live','gap_recovery',1,2,1.0);
INSERT INTO metrics VALUES(2,'live','gap_time_to_trough',1,2,1.0);
INSERT INTO metrics VALUES(2,'live','gap_time_to_trough_mean',0,0,1.0);
INSERT INTO metrics VALUES(2,'live','lca10',0,0,NULL);
INSERT INTO metrics VALUES(2,'live','min_acc',0,0,0.10000000000000000555);
INSERT INTO metrics VALUES(2,'live','min_acc',1,0,0.10000000000000000555);
INSERT INTO metrics VALUES(2,'live','wc_acc',0,0,0.050000000000000002775);
INSERT INTO metrics VALUES(2,'live','wf10',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','wf100',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','wp10',0,0,0.0);
INSERT INTO metrics VALUES(2,'live','wp100',0,0,0.0);
CREATE INDEX runs_key ON runs(key);
COMMIT;
