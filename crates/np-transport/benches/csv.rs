#![allow(missing_docs)] // criterion_group! generates undocumented items

//! CSV reading cost as the file grows: linear in the number of samples (100,000 one-row
//! samples took 144 s with the old quadratic check for split sample blocks).

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use ion_species::IonRegistry;
use np_transport::data::Dataset;

fn file(samples: usize) -> String {
    let mut text = String::from(
        "sample,Jv [L/m2/h],feed:Na+ [mmol/L],feed:Cl- [mmol/L],feed:SO4 2- [mmol/L],permeate:Na+ [mmol/L],rejection:Cl- [-]\n",
    );
    for i in 0..samples {
        text.push_str(&format!("s{i},20,30,10,10,12.1,0.2\n"));
    }
    text
}

fn bench(c: &mut Criterion) {
    let reg = IonRegistry::canonical();
    let mut group = c.benchmark_group("read CSV, one-row samples");
    for n in [1_000usize, 10_000, 100_000] {
        let text = file(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, t| {
            b.iter(|| Dataset::from_csv_str(black_box(t), &reg).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
