"""Our own re-creations of the code cells of 13 pykan 0.2.8 tutorial notebooks, in pykan spelling.

One list of cells per notebook, cell for cell (empty cells left out). They call pykan's API the way the
tutorials do; `switch_import` turns them into kanwidget cells by renaming the package only. Used by
`bench/bench_compat.py` (both ways) and `tests/core/test_pykan_notebooks.py` (kanwidget, a few notebooks).
Steps and sizes are the tutorials' own, so that a cell passing here passes in the notebook.
"""
from __future__ import annotations

import re

_HEAD = """
from kan import *
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
"""
_EXP_SIN = "f = lambda x: torch.exp(torch.sin(torch.pi*x[:,[0]]) + x[:,[1]]**2)\n"

HELLOKAN = [
    _HEAD + "torch.set_default_dtype(torch.float64)\nmodel = KAN(width=[2,5,1], grid=3, k=3, seed=42, device=device)",
    "from kan.utils import create_dataset\n" + _EXP_SIN
    + "dataset = create_dataset(f, n_var=2, device=device)\ndataset['train_input'].shape, dataset['train_label'].shape",
    "model(dataset['train_input']);\nmodel.plot()",
    'model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001);',
    "model.plot()",
    "model = model.prune()\nmodel.plot()",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    "model = model.refine(10)",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    "lib = ['x','x^2','x^3','x^4','exp','log','sqrt','tanh','sin','abs']\nmodel.auto_symbolic(lib=lib)",
    'model.fit(dataset, opt="LBFGS", steps=50);',
    "from kan.utils import ex_round\nex_round(model.symbolic_formula()[0][0],4)",
]


def _fix_plot_unfix(l: int, i: int, j: int) -> str:
    return f"model.fix_symbolic({l},{i},{j},'sin')\nmodel.plot(beta=beta)\nmodel.unfix_symbolic({l},{i},{j})"


API_1_INDEXING = [
    _HEAD + "model = KAN(width=[2,3,2,1], noise_scale=0.3, device=device)\n"
    "x = torch.normal(0,1,size=(100,2)).to(device)\nmodel(x);\nbeta = 100\nmodel.plot(beta=beta)",
    _fix_plot_unfix(0, 0, 0), _fix_plot_unfix(0, 0, 1), _fix_plot_unfix(0, 1, 0), _fix_plot_unfix(1, 0, 0),
    _fix_plot_unfix(2, 1, 0),
    "model.remove_node(1,0)", "model.plot(beta=beta)",
    "model.remove_node(2,1)", "model.plot(beta=beta)",
    "model.remove_node(1,2)", "model.plot(beta=beta)",
    "model = KAN(width=[2,3,5,1])\ni = 0\nmodel.act_fun[i]\nmodel.symbolic_fun[i]\nfor i in range(3):\n"
    "    print(model.act_fun[i].in_dim, model.act_fun[i].out_dim)\n"
    "    print(model.symbolic_fun[i].in_dim, model.symbolic_fun[i].out_dim)",
    "model.act_fun[i].grid\nmodel.act_fun[i].coef\nmodel.symbolic_fun[i].funs_name\nmodel.symbolic_fun[i].mask",
]

API_2_PLOTTING = [
    _HEAD + "model = KAN(width=[2,5,1], grid=3, k=3, seed=1, device=device)\n" + _EXP_SIN
    + "dataset = create_dataset(f, n_var=2, device=device)\ndataset['train_input'].shape, dataset['train_label'].shape",
    "model(dataset['train_input']);\nmodel.plot(beta=100)",
    "model.plot(beta=100, in_vars=[r'$\\alpha$', 'x'], out_vars=['y'], title = 'My KAN')",
    'model.fit(dataset, opt="LBFGS", steps=20, lamb=0.01);',
    "model.plot()", "model.plot(beta=100000)", "model.plot(beta=0.1)",
    "model.plot(metric='forward_n', beta=100)", "model.plot(metric='forward_u', beta=100)",
    "model.plot(metric='backward', beta=100)",
    "model = model.prune()\nmodel.plot()",
    "model.plot(scale=0.5)", "model.plot(scale=0.2)", "model.plot(scale=2.0)",
    "model.plot(sample=True)",
    "model.get_act(dataset['train_input'][:20])\nmodel.plot(sample=True)",
    "model.fix_symbolic(0,1,0,'x^2')", "model.plot()",
    "model.set_mode(0,1,0,mode='ns')", "model.plot(beta=100)",
]

API_3_EXTRACT_ACTIVATIONS = [
    _HEAD + "import matplotlib.pyplot as plt\nmodel = KAN(width=[2,5,1], grid=3, k=3, seed=1, device=device)\n"
    "x = torch.normal(0,1,size=(100,2)).to(device)\nmodel(x)\nmodel.plot(beta=100)",
    "l = 0\ni = 0\nj = 3\nx, y = model.get_fun(l,i,j)",
    "model.get_range(l,i,j)",
]


def _init_cell(options: str, head: str = "") -> str:
    return (head + f"model = KAN(width=[2,5,1], grid=5, k=3, seed=0{options}, device=device)\n"
            "x = torch.normal(0,1,size=(100,2)).to(device)\nmodel(x)\nmodel.plot()")


API_4_INITIALIZATION = [
    _init_cell("", "from kan import KAN, create_dataset\nimport torch\n"
               "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"),
    _init_cell(", base_fun = 'identity'"), _init_cell(", noise_scale=0.3"), _init_cell(", noise_scale=10."),
    _init_cell(", scale_base_mu=5, scale_base_sigma=0"), _init_cell(", sparse_init=True"),
]


def _grid_cell(samples: str, options: str = "") -> str:
    return (f"model = KAN(width=[1,1], grid=G, k=k{options})\nprint(model.act_fun[0].grid)\n"
            f"x = {samples}\nmodel.update_grid_from_samples(x)\nprint(model.act_fun[0].grid)")


API_5_GRID = [
    "from kan.spline import B_batch\nimport torch\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
    "from kan.spline import extend_grid\nG = 5\nk = 3\ngrid = torch.linspace(-1,1,steps=G+1)[None,:]\n"
    "grid = extend_grid(grid, k_extend=k)\nx = torch.linspace(-1,1,steps=1001)[None,:]\n"
    "basis = B_batch(x, grid, k=k)\nfor i in range(G+k):\n"
    "    plt.plot(x[0].detach().numpy(), basis[0,:,i].detach().numpy())\n"
    "plt.legend(['B_{}(x)'.format(i) for i in np.arange(G+k)])\nplt.xlabel('x')\nplt.ylabel('B_i(x)')",
    "from kan import KAN\nmodel = KAN(width=[1,1], grid=G, k=k)\nmodel.act_fun[0].coef\n"
    "assert(model.act_fun[0].coef[0].shape[1] == G+k)\nmodel_output = model(x[0][:,None])\n"
    "spline_output = torch.einsum('j,ij->i',model.act_fun[0].coef[0][0], basis[0])[:,None]\n"
    "torch.mean((model_output - spline_output)**2)",
    "residual_output = torch.nn.SiLU()(x[0][:,None])\nscale_base = model.act_fun[0].scale_base\n"
    "scale_sp = model.act_fun[0].scale_sp\n"
    "torch.mean((model_output - (scale_base * residual_output + scale_sp * spline_output))**2)",
    _grid_cell("torch.linspace(-10,10,steps = 1001)[:,None]"),
    _grid_cell("torch.linspace(-0.5,0.5,steps = 1001)[:,None]"),
    _grid_cell("torch.normal(0,1,size=(1000,1))"),
    _grid_cell("torch.normal(0,1,size=(1000,1))", ", grid_eps = 0."),
]


def _train_cell(seed: int, options: str, grid: int = 5) -> str:
    return (f"model = KAN(width=[2,5,1], grid={grid}, k=3, seed={seed}, device=device)\n"
            f'model.fit(dataset, opt="LBFGS", steps=20{options});\nmodel.plot()')


_DATASET_CELL = (_HEAD + "import torch\n" + _EXP_SIN + "dataset = create_dataset(f, n_var=2, device=device)\n"
                 "dataset['train_input'].shape, dataset['train_label'].shape")

API_6_TRAINING_HYPERPARAMETER = [
    _DATASET_CELL,
    _train_cell(1, ", lamb=0.01"), _train_cell(1, ", lamb=0.00"), _train_cell(0, ", lamb=1.0"),
    _train_cell(1, ", lamb=0.01, lamb_entropy=0.0"), _train_cell(1, ", lamb=0.01, lamb_entropy=10.0"),
    _train_cell(42, ", lamb=0.01", grid=3),
]


def _pruning_setup(steps: int, head: str = "from kan import *\n") -> str:
    return (head + "model = KAN(width=[2,5,1], grid=5, k=3, seed=1, device=device)\n" + _EXP_SIN
            + "dataset = create_dataset(f, n_var=2, device=device)\n"
            "dataset['train_input'].shape, dataset['train_label'].shape\n"
            f'model.fit(dataset, opt="LBFGS", steps={steps}, lamb=0.01);\n'
            "model(dataset['train_input'])\nmodel.plot()")


API_7_PRUNING = [
    _pruning_setup(20, _HEAD),
    "mode = 'auto'\nif mode == 'auto':\n    model = model.prune_node(threshold=1e-2)\n    model.plot()\n"
    "elif mode == 'manual':\n    model = model.prune_node(active_neurons_id=[[0]])",
    _pruning_setup(6),
    "model.prune_edge()", "model.plot()",
    _pruning_setup(20),
    "model = model.prune()\nmodel.plot()",
]

API_8_REGULARIZATION = [
    _DATASET_CELL,
    "model = KAN(width=[2,5,1], grid=3, k=3, seed=1, device=device)\n"
    "model.fit(dataset, opt=\"LBFGS\", steps=20, lamb=0.01, reg_metric='edge_forward_spline_n');\nmodel.plot()",
    "model.plot(metric='forward_u')",
]

API_11_CREATE_DATASET = [
    "from kan.utils import create_dataset\nimport torch\n"
    "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\nprint(device)\n"
    "f = lambda x: x[:,[0]] * x[:,[1]]\ndataset = create_dataset(f, n_var=2, device=device)\n"
    "dataset['train_label'].shape",
    "f = lambda x: x[:,0] * x[:,1]\ndataset = create_dataset(f, n_var=2, device=device)\ndataset['train_label'].shape",
    "f = lambda x: x[0] * x[1]\ndataset = create_dataset(f, n_var=2, f_mode='row', device=device)\n"
    "dataset['train_label'].shape",
    "import torch\nfrom kan.utils import create_dataset_from_data\nx = torch.rand(100,2)\ny = torch.rand(100,1)\n"
    "dataset = create_dataset_from_data(x, y, device=device)",
]

API_12_CHECKPOINT = [
    _HEAD + "import torch\n" + _EXP_SIN + "dataset = create_dataset(f, n_var=2, device=device)\n"
    "model = KAN(width=[2,5,1], grid=5, k=3, seed=1, auto_save=True, device=device)\n"
    "model.get_act(dataset)\nmodel.plot()",
    "model.auto_save",
    'model.fit(dataset, opt="LBFGS", steps=20, lamb=0.01);\nmodel.plot()',
    "model = model.prune()\nmodel.plot()",
    "model = model.rewind('0.1')\nmodel.plot()",
    'model.fit(dataset, opt="LBFGS", steps=2);\nmodel.plot()',
]

_MOONS = """
from sklearn.datasets import make_moons
import numpy as np
dataset = {{}}
train_input, train_label = make_moons(n_samples=1000, shuffle=True, noise=0.1, random_state=None)
test_input, test_label = make_moons(n_samples=1000, shuffle=True, noise=0.1, random_state=None)
dataset['train_input'] = torch.from_numpy(train_input).type(dtype).to(device)
dataset['test_input'] = torch.from_numpy(test_input).type(dtype).to(device)
dataset['train_label'] = torch.from_numpy({label}).type({label_type}).to(device)
dataset['test_label'] = torch.from_numpy({test}).type({label_type}).to(device)
X = dataset['train_input']
y = dataset['train_label']
plt.scatter(X[:,0].cpu().detach().numpy(), X[:,1].cpu().detach().numpy(), c={colour}.cpu().detach().numpy())
"""

EXAMPLE_4_CLASSIFICATION = [
    _HEAD + "import matplotlib.pyplot as plt\ndtype = torch.get_default_dtype()"
    + _MOONS.format(label="train_label[:,None]", test="test_label[:,None]", label_type="dtype", colour="y[:,0]"),
    "model = KAN(width=[2,1], grid=3, k=3, device=device)\n"
    "def train_acc():\n    return torch.mean((torch.round(model(dataset['train_input'])[:,0]) == "
    "dataset['train_label'][:,0]).type(dtype))\n"
    "def test_acc():\n    return torch.mean((torch.round(model(dataset['test_input'])[:,0]) == "
    "dataset['test_label'][:,0]).type(dtype))\n"
    'results = model.fit(dataset, opt="LBFGS", steps=20, metrics=(train_acc, test_acc));\n'
    "results['train_acc'][-1], results['test_acc'][-1]",
    "lib = ['x','x^2','x^3','x^4','exp','log','sqrt','tanh','sin','tan','abs']\nmodel.auto_symbolic(lib=lib)\n"
    "formula = model.symbolic_formula()[0][0]\nex_round(formula, 4)",
    "def acc(formula, X, y):\n    batch = X.shape[0]\n    correct = 0\n    for i in range(batch):\n"
    "        correct += np.round(np.array(formula.subs('x_1', X[i,0]).subs('x_2', X[i,1])).astype(np.float64))"
    " == y[i,0]\n    return correct/batch\n"
    "print('train acc of the formula:', acc(formula, dataset['train_input'], dataset['train_label']))\n"
    "print('test acc of the formula:', acc(formula, dataset['test_input'], dataset['test_label']))",
    "from kan import KAN\nimport matplotlib.pyplot as plt\nimport torch"
    + _MOONS.format(label="train_label", test="test_label", label_type="torch.long", colour="y[:]"),
    "model = KAN(width=[2,2], grid=3, k=3, seed=2024, device=device)\n"
    "def train_acc():\n    return torch.mean((torch.argmax(model(dataset['train_input']), dim=1) == "
    "dataset['train_label']).type(dtype))\n"
    "def test_acc():\n    return torch.mean((torch.argmax(model(dataset['test_input']), dim=1) == "
    "dataset['test_label']).type(dtype))\n"
    'results = model.fit(dataset, opt="LBFGS", steps=20, metrics=(train_acc, test_acc), '
    "loss_fn=torch.nn.CrossEntropyLoss());",
    "lib = ['x','x^2','x^3','x^4','exp','log','sqrt','tanh','sin','abs']\nmodel.auto_symbolic(lib=lib)",
    "formula1, formula2 = model.symbolic_formula()[0]\nex_round(formula1, 4)",
    "ex_round(formula2, 4)",
    "def acc(formula1, formula2, X, y):\n    batch = X.shape[0]\n    correct = 0\n    for i in range(batch):\n"
    "        logit1 = np.array(formula1.subs('x_1', X[i,0]).subs('x_2', X[i,1])).astype(np.float64)\n"
    "        logit2 = np.array(formula2.subs('x_1', X[i,0]).subs('x_2', X[i,1])).astype(np.float64)\n"
    "        correct += (logit2 > logit1) == y[i]\n    return correct/batch\n"
    "print('train acc of the formula:', acc(formula1, formula2, dataset['train_input'], dataset['train_label']))\n"
    "print('test acc of the formula:', acc(formula1, formula2, dataset['test_input'], dataset['test_label']))",
]

EXAMPLE_5_SPECIAL_FUNCTIONS = [
    _HEAD + "model = KAN(width=[2,1,1], grid=3, k=3, seed=2, device=device)\n"
    "f = lambda x: torch.exp(torch.special.bessel_j0(20*x[:,[0]]) + x[:,[1]]**2)\n"
    'dataset = create_dataset(f, n_var=2, device=device)\nmodel.fit(dataset, opt="LBFGS", steps=20);',
    "model.plot()",
    'model = model.refine(20)\nmodel.fit(dataset, opt="LBFGS", steps=20);',
    "model.plot()",
    "model.suggest_symbolic(0,0,0)",
    "SYMBOLIC_LIB.keys()",
    "add_symbolic('J0', torch.special.bessel_j0, c=1)",
    "model.suggest_symbolic(0,0,0)",
    "model.suggest_symbolic(0,0,0,a_range=(-40,40))",
]

NOTEBOOKS: dict[str, list[str]] = {
    "hellokan": HELLOKAN,
    "API_1_indexing": API_1_INDEXING,
    "API_2_plotting": API_2_PLOTTING,
    "API_3_extract_activations": API_3_EXTRACT_ACTIVATIONS,
    "API_4_initialization": API_4_INITIALIZATION,
    "API_5_grid": API_5_GRID,
    "API_6_training_hyperparameter": API_6_TRAINING_HYPERPARAMETER,
    "API_7_pruning": API_7_PRUNING,
    "API_8_regularization": API_8_REGULARIZATION,
    "API_11_create_dataset": API_11_CREATE_DATASET,
    "API_12_checkpoint_save_load_model": API_12_CHECKPOINT,
    "Example_4_classfication": EXAMPLE_4_CLASSIFICATION,
    "Example_5_special_functions": EXAMPLE_5_SPECIAL_FUNCTIONS,
}

_IMPORT = re.compile(r"\b(from|import)\s+kan\b")


def switch_import(cell: str) -> str:
    """The one-line switch: `from kan import ...` / `from kan.utils import ...` name kanwidget instead."""
    return _IMPORT.sub(lambda m: f"{m.group(1)} kanwidget", cell)
