package harness

// Presets of the seed papers' methods: SGM, PCR and Dual-Arch.

// sgmParams is SGM over the delange-smnist-er replay, every component.
const sgmParams = `{"base":"er","base_params":` + erParams + `,"components":["init","soft","lora","oocf"],"start":2,"init_bias":"keep","rank":48,"lora_alpha":48,"lora_lr_scale":1}`

func init() {
	addPresets(
		Preset{
			Name: "sgm-smnist-er",
			Summary: "the delange-smnist-er setup with SGM over its replay: data-driven init of new output units, dynamic soft targets, LoRA (rank 48) on the hidden layers, " +
				"old-output-class freezing, from experience 2 (Harun & Kanan 2024)",
			Config: delange("sgm", sgmParams),
			Seeds:  []uint64{0, 1, 2, 3, 4},
		},
	)
}
